/* The FIXUP_TABLE check (harness/fixup.c) on the bundled stubs, no back end
 * needed: fixup-table's hand-kept table agrees with the table derived from
 * the decode at every instruction of its critical region; the drifted one
 * disagrees at exactly POP RDX, POP RSI and POP RDI, by one register each;
 * a stub without the declaration is not checked. */
#include "check.h"
#include "fixup.h"

static int load(const char *name, struct guest_image *img,
		struct guest_layout *lay)
{
	char path[512], err[512];

	snprintf(path, sizeof(path), "%s/%s.elf", IST_GUEST_DIR, name);
	if (image_load(path, img, err, sizeof(err)) ||
	    guest_layout_read(img, lay, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static void test_right_table(void)
{
	struct guest_image img;
	struct guest_layout lay;
	struct fixup_check c;

	if (load("fixup-table", &img, &lay)) {
		CHECK(!"fixup-table loads");
		return;
	}
	CHECK_EQ_U64(fixup_check(&img, &lay, &c), 0);
	CHECK(c.declared);
	CHECK_EQ_STR(c.error, "");
	CHECK_EQ_U64(c.ninsns, 17); /* 15 pops, ADD RSP, IRETQ */
	CHECK_EQ_U64(c.nmismatches, 0);
	CHECK_EQ_U64(c.insns[0].derived, 0);
	CHECK_EQ_U64(c.insns[15].derived, 0x78); /* ADD RSP, 8 */
	CHECK_EQ_U64(c.insns[16].derived, 0x80); /* IRETQ */
	image_free(&img);
}

static void test_drifted_table(void)
{
	static const char *const drifted[] = {"pop rdx", "pop rsi", "pop rdi"};
	struct guest_image img;
	struct guest_layout lay;
	struct fixup_check c;
	uint64_t scrit = 0;
	int k = 0;

	if (load("fixup-table-drifted", &img, &lay)) {
		CHECK(!"fixup-table-drifted loads");
		return;
	}
	CHECK(image_symbol_addr(&img, "scrit", &scrit) == 0);
	CHECK_EQ_U64(fixup_check(&img, &lay, &c), 0);
	CHECK_EQ_U64(c.ninsns, 17);
	CHECK_EQ_U64(c.nmismatches, 3);
	for (int i = 0; i < c.ninsns; i++) {
		const struct fixup_entry *e = &c.insns[i];
		if (e->table == e->derived)
			continue;
		CHECK(k < 3);
		if (k >= 3)
			break;
		CHECK_EQ_STR(e->insn, drifted[k]);
		CHECK_EQ_U64(e->addr, scrit + 0x15 + (uint64_t)k);
		CHECK_EQ_U64(e->table, e->derived + 8);
		k++;
	}
	image_free(&img);
}

static void test_undeclared(void)
{
	struct guest_image img;
	struct guest_layout lay;
	struct fixup_check c;

	if (load("linux", &img, &lay)) {
		CHECK(!"linux loads");
		return;
	}
	CHECK_EQ_U64(fixup_check(&img, &lay, &c), 0);
	CHECK(!c.declared);
	CHECK_EQ_U64(c.ninsns, 0);
	image_free(&img);
}

int main(void)
{
	test_right_table();
	test_drifted_table();
	test_undeclared();
	return check_summary("test_fixup");
}
