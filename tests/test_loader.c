/* Unit test for loader.c.
 *
 * argv[1] is tests/fixtures/symbols.S linked with fixture.ld; the
 * addresses below come from the .org directives there. Malformed inputs are
 * derived from that file at run time (truncated, flipped fields, random byte
 * mutations) and written into a private temporary directory.
 */
#define _POSIX_C_SOURCE 200809L

#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "loader.h"

#define TEXT_ADDR 0x400000ull
#define TEXT_SIZE 0xa0ull
#define DATA_ADDR 0x401000ull
#define BSS_ADDR  0x401008ull
#define BSS_SIZE  0x40ull

/* Enough to reach every parser branch in well under a second; raise it
 * with -DFUZZ_ITERATIONS=... for a longer soak. */
#ifndef FUZZ_ITERATIONS
#define FUZZ_ITERATIONS 600
#endif

static char tmpdir[256];
static char casepath[300];

static uint8_t *orig;
static size_t orig_size;

static uint8_t *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (len = ftell(f)) > 0 &&
	    !fseek(f, 0, SEEK_SET)) {
		buf = malloc((size_t)len);
		if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		}
		*size = (size_t)len;
	}
	fclose(f);
	return buf;
}

static int write_case(const void *data, size_t len)
{
	FILE *f = fopen(casepath, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* A rejection must be one non-empty line that names the file. */
static void check_error_message(const char *what, const char *path,
				const char *err)
{
	int good = err[0] && !strchr(err, '\n') && strstr(err, path);

	CHECK(good);
	if (!good)
		fprintf(stderr, "  bad message for %s: \"%s\"\n", what, err);
}

/* The messages are printed so the test log shows what a user would see. */
static void expect_reject_path(const char *what, const char *path, int quiet)
{
	struct guest_image img;
	char err[512];

	memset(err, 'x', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
	CHECK_EQ_U64(image_load(path, &img, err, sizeof(err)), -1);
	CHECK(img.file == NULL && img.nsyms == 0 && img.nsegs == 0);
	check_error_message(what, path, err);
	if (!quiet)
		printf("  rejects %-26s %s\n", what, err);
}

static void expect_reject_quietly(const char *what, const void *data,
				  size_t len, int quiet)
{
	if (write_case(data, len)) {
		CHECK(!"cannot write test case");
		return;
	}
	expect_reject_path(what, casepath, quiet);
	unlink(casepath);
}

static void expect_reject(const char *what, const void *data, size_t len)
{
	expect_reject_quietly(what, data, len, 0);
}

static uint8_t *copy_orig(void)
{
	uint8_t *copy = malloc(orig_size);

	if (!copy) {
		perror("malloc");
		exit(1);
	}
	memcpy(copy, orig, orig_size);
	return copy;
}

static Elf64_Ehdr get_ehdr(const uint8_t *f)
{
	Elf64_Ehdr eh;

	memcpy(&eh, f, sizeof(eh));
	return eh;
}

static void put_ehdr(uint8_t *f, const Elf64_Ehdr *eh)
{
	memcpy(f, eh, sizeof(*eh));
}

static Elf64_Phdr get_phdr(const uint8_t *f, size_t i)
{
	Elf64_Phdr ph;

	memcpy(&ph, f + get_ehdr(f).e_phoff + i * sizeof(ph), sizeof(ph));
	return ph;
}

static void put_phdr(uint8_t *f, size_t i, const Elf64_Phdr *ph)
{
	memcpy(f + get_ehdr(f).e_phoff + i * sizeof(*ph), ph, sizeof(*ph));
}

static Elf64_Shdr get_shdr(const uint8_t *f, size_t i)
{
	Elf64_Shdr sh;

	memcpy(&sh, f + get_ehdr(f).e_shoff + i * sizeof(sh), sizeof(sh));
	return sh;
}

static void put_shdr(uint8_t *f, size_t i, const Elf64_Shdr *sh)
{
	memcpy(f + get_ehdr(f).e_shoff + i * sizeof(*sh), sh, sizeof(*sh));
}

static size_t find_shdr_of_type(const uint8_t *f, uint32_t type)
{
	size_t i;

	for (i = 1; i < get_ehdr(f).e_shnum; i++)
		if (get_shdr(f, i).sh_type == type)
			return i;
	fprintf(stderr, "fixture has no section of type %u\n", type);
	exit(1);
}

static void test_layout(const struct guest_image *img)
{
	size_t i;

	CHECK_EQ_U64(img->entry, TEXT_ADDR);
	CHECK_EQ_U64(img->nsegs, 2);
	if (img->nsegs != 2)
		return;
	CHECK_EQ_U64(img->segs[0].vaddr, TEXT_ADDR);
	CHECK_EQ_U64(img->segs[0].paddr, TEXT_ADDR);
	CHECK_EQ_U64(img->segs[0].filesz, TEXT_SIZE);
	CHECK_EQ_U64(img->segs[0].memsz, TEXT_SIZE);
	CHECK_EQ_U64(img->segs[0].flags, PF_R | PF_X);
	CHECK_EQ_U64(img->segs[1].vaddr, DATA_ADDR);
	CHECK_EQ_U64(img->segs[1].filesz, 8);
	CHECK_EQ_U64(img->segs[1].memsz, 8 + BSS_SIZE);
	CHECK_EQ_U64(img->segs[1].flags, PF_R | PF_W);

	/* 16 ELF symbols minus the null symbol and the FILE symbol. */
	CHECK_EQ_U64(img->nsyms, 14);
	for (i = 1; i < img->nsyms; i++)
		CHECK(img->syms[i - 1].addr <= img->syms[i].addr);
}

static void check_symbol_at(const struct guest_image *img, uint64_t addr,
			    const char *want)
{
	const struct guest_symbol *s = image_symbol_at(img, addr);

	if (!want) {
		CHECK(s == NULL);
		if (s)
			fprintf(stderr, "  0x%llx: got %s, want none\n",
				(unsigned long long)addr, s->name);
		return;
	}
	CHECK_EQ_STR(s ? s->name : NULL, want);
}

static void test_symbol_at(const struct guest_image *img)
{
	const struct guest_symbol *s;

	/* Below every symbol, and in padding after a sized function with
	 * nothing sizeless below it. */
	check_symbol_at(img, 0, NULL);
	check_symbol_at(img, TEXT_ADDR - 1, NULL);
	check_symbol_at(img, 0x400000, "first_func");
	check_symbol_at(img, 0x40000f, "first_func");
	check_symbol_at(img, 0x400010, NULL);
	check_symbol_at(img, 0x40001f, NULL);

	/* Global function over local function, global, and a name that
	 * sorts first. */
	check_symbol_at(img, 0x400020, "entry_start");
	check_symbol_at(img, 0x40002f, "entry_start");
	/* Nested sized symbol, then back to the enclosing one. */
	check_symbol_at(img, 0x400030, "inner_helper");
	check_symbol_at(img, 0x400037, "inner_helper");
	check_symbol_at(img, 0x400038, "entry_start");
	check_symbol_at(img, 0x40005f, "entry_start");

	/* Local function over untyped global; past its end the sizeless
	 * global at the same address still covers. */
	check_symbol_at(img, 0x400060, "b_local_func");
	check_symbol_at(img, 0x40006f, "b_local_func");
	check_symbol_at(img, 0x400070, "b_global");

	check_symbol_at(img, 0x400080, "c_global");
	check_symbol_at(img, 0x400090, "d_alpha");

	check_symbol_at(img, DATA_ADDR, "counter");
	check_symbol_at(img, DATA_ADDR + 7, "counter");
	check_symbol_at(img, BSS_ADDR, "bss_buf");
	check_symbol_at(img, BSS_ADDR + BSS_SIZE - 1, "bss_buf");
	/* Past both data objects the last sizeless text label is the
	 * nearest that still covers, and it covers to the end of memory. */
	check_symbol_at(img, BSS_ADDR + BSS_SIZE, "d_alpha");
	check_symbol_at(img, UINT64_MAX, "d_alpha");

	s = image_symbol_at(img, 0x400020);
	CHECK(s && s->is_func && s->is_global && s->size == 0x40);
	s = image_symbol_at(img, 0x400060);
	CHECK(s && s->is_func && !s->is_global && s->size == 0x10);
	s = image_symbol_at(img, BSS_ADDR);
	CHECK(s && !s->is_func && s->is_global && s->size == BSS_SIZE);
}

static void check_format(const struct guest_image *img, uint64_t addr,
			 const char *want)
{
	char buf[128];

	CHECK_EQ_STR(image_format_addr(img, addr, buf, sizeof(buf)), want);
}

static void test_format(const struct guest_image *img)
{
	char small[8];

	check_format(img, 0x400000, "first_func+0x0");
	check_format(img, 0x400020, "entry_start+0x0");
	check_format(img, 0x40003f, "entry_start+0x1f");
	check_format(img, 0x400031, "inner_helper+0x1");
	check_format(img, 0x400075, "b_global+0x15");
	check_format(img, 0x400018, "0x400018");
	check_format(img, 0x1000, "0x1000");
	check_format(img, BSS_ADDR + 8, "bss_buf+0x8");
	check_format(img, DATA_ADDR + 0x48, "d_alpha+0xfb8");

	/* Too small a buffer truncates but stays terminated. */
	CHECK_EQ_STR(image_format_addr(img, 0x400020, small, sizeof(small)),
		     "entry_s");
	CHECK(image_format_addr(img, 0x400020, small, 0) == small);
}

static void check_parse(const struct guest_image *img, const char *text,
			uint64_t want)
{
	uint64_t addr = 0xbad;

	CHECK_EQ_U64(image_parse_addr(img, text, &addr), 0);
	CHECK_EQ_U64(addr, want);
}

static void check_parse_fails(const struct guest_image *img, const char *text)
{
	uint64_t addr = 0xbad;

	CHECK_EQ_U64(image_parse_addr(img, text, &addr), -1);
	CHECK_EQ_U64(addr, 0xbad);
}

static void test_parse(const struct guest_image *img)
{
	char buf[128];
	uint64_t addr, back;
	int round_trips = 1;

	check_parse(img, "entry_start+0x1f", 0x40003f);
	check_parse(img, "entry_start+0X1F", 0x40003f);
	check_parse(img, "entry_start+31", 0x40003f);
	check_parse(img, "entry_start", 0x400020);
	check_parse(img, "entry_start+0x0", 0x400020);
	/* Any name works, not just the one image_format_addr picks. */
	check_parse(img, "aaa_local+0x4", 0x400024);
	check_parse(img, "bss_buf+0x3f", BSS_ADDR + 0x3f);
	check_parse(img, "0x400018", 0x400018);
	check_parse(img, "0xffffffffffffffff", UINT64_MAX);

	check_parse_fails(img, "no_such_symbol+0x4");
	check_parse_fails(img, "no_such_symbol");
	check_parse_fails(img, "");
	check_parse_fails(img, "garbage!");
	check_parse_fails(img, "entry_start+");
	check_parse_fails(img, "entry_start+0x");
	check_parse_fails(img, "entry_start+0xg");
	check_parse_fails(img, "entry_start+12abc");
	check_parse_fails(img, "entry_start+-1");
	check_parse_fails(img, "entry_start+ 1");
	check_parse_fails(img, "entry_start-0x1");
	check_parse_fails(img, "entry_start+0x1+0x1");
	check_parse_fails(img, "entry_start+99999999999999999999999");
	check_parse_fails(img, "entry_start+0xffffffffffffffff");
	check_parse_fails(img, "entry_star+0x1");
	check_parse_fails(img, "entry_startx");
	check_parse_fails(img, "+0x10");
	check_parse_fails(img, "0x");
	check_parse_fails(img, "0xzz");
	check_parse_fails(img, "0x10000000000000000");
	check_parse_fails(img, " 0x10");

	for (addr = TEXT_ADDR - 0x10; addr < BSS_ADDR + BSS_SIZE + 0x10;
	     addr++) {
		image_format_addr(img, addr, buf, sizeof(buf));
		if (image_parse_addr(img, buf, &back) || back != addr) {
			fprintf(stderr,
				"  0x%llx -> \"%s\" does not parse back\n",
				(unsigned long long)addr, buf);
			round_trips = 0;
		}
		if (addr == TEXT_ADDR + TEXT_SIZE)
			addr = DATA_ADDR - 0x10;
	}
	CHECK(round_trips);
}

static void test_symbol_addr(const struct guest_image *img)
{
	uint64_t addr = 0;

	CHECK_EQ_U64(image_symbol_addr(img, "inner_helper", &addr), 0);
	CHECK_EQ_U64(addr, 0x400030);
	CHECK_EQ_U64(image_symbol_addr(img, "counter", &addr), 0);
	CHECK_EQ_U64(addr, DATA_ADDR);
	CHECK_EQ_U64(image_symbol_addr(img, "d_beta", &addr), 0);
	CHECK_EQ_U64(addr, 0x400090);
	CHECK_EQ_U64(image_symbol_addr(img, "symbols.o", &addr), -1);
	CHECK_EQ_U64(image_symbol_addr(img, "", &addr), -1);
	CHECK_EQ_U64(image_symbol_addr(img, "entry", &addr), -1);
}

static void test_sections(const struct guest_image *img)
{
	const struct guest_section *s;
	uint8_t buf[TEXT_SIZE];

	s = image_section(img, ".entry.text");
	CHECK(s != NULL);
	if (s) {
		CHECK_EQ_U64(s->addr, TEXT_ADDR);
		CHECK_EQ_U64(s->size, TEXT_SIZE);
		CHECK(s->data != NULL);
		CHECK_EQ_U64(image_read(img, TEXT_ADDR, buf, sizeof(buf)), 0);
		CHECK(s->data && !memcmp(s->data, buf, sizeof(buf)));
	}
	s = image_section(img, ".bss");
	CHECK(s != NULL);
	if (s) {
		CHECK_EQ_U64(s->addr, BSS_ADDR);
		CHECK_EQ_U64(s->size, BSS_SIZE);
		CHECK(s->data == NULL);
	}
	s = image_section(img, ".data");
	CHECK(s && s->addr == DATA_ADDR && s->size == 8 && s->data);
	CHECK(image_section(img, ".symtab") != NULL);
	CHECK(image_section(img, ".entry") == NULL);
	CHECK(image_section(img, ".text") == NULL);
	CHECK(image_section(img, "") == NULL);
}

static uint64_t le64(const uint8_t *b)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static void test_read(const struct guest_image *img)
{
	uint8_t buf[0x100], zeros[BSS_SIZE] = {0};

	/* first_func: nop; ret; then the 0xcc padding. */
	CHECK_EQ_U64(image_read(img, TEXT_ADDR, buf, 2), 0);
	CHECK_EQ_U64(buf[0], 0x90);
	CHECK_EQ_U64(buf[1], 0xc3);
	CHECK_EQ_U64(image_read(img, 0x400010, buf, 1), 0);
	CHECK_EQ_U64(buf[0], 0xcc);
	/* swapgs at entry_start */
	CHECK_EQ_U64(image_read(img, 0x400020, buf, 3), 0);
	CHECK(!memcmp(buf, "\x0f\x01\xf8", 3));

	/* .data then .bss in one read: file bytes, then zeros. */
	memset(buf, 0xa5, sizeof(buf));
	CHECK_EQ_U64(image_read(img, DATA_ADDR, buf, 8 + BSS_SIZE), 0);
	CHECK_EQ_U64(le64(buf), 0x1122334455667788ull);
	CHECK(!memcmp(buf + 8, zeros, BSS_SIZE));
	memset(buf, 0xa5, sizeof(buf));
	CHECK_EQ_U64(image_read(img, BSS_ADDR + 0x10, buf, 0x30), 0);
	CHECK(!memcmp(buf, zeros, 0x30));
	CHECK_EQ_U64(image_read(img, DATA_ADDR + 4, buf, 4), 0);
	CHECK_EQ_U64(buf[0], 0x44);

	CHECK_EQ_U64(image_read(img, TEXT_ADDR, buf, 0), 0);
	CHECK_EQ_U64(image_read(img, 0, buf, 1), -1);
	CHECK_EQ_U64(image_read(img, TEXT_ADDR - 1, buf, 2), -1);
	CHECK_EQ_U64(image_read(img, TEXT_ADDR, buf, TEXT_SIZE + 1), -1);
	CHECK_EQ_U64(image_read(img, TEXT_ADDR + TEXT_SIZE, buf, 1), -1);
	CHECK_EQ_U64(image_read(img, BSS_ADDR + BSS_SIZE, buf, 1), -1);
	CHECK_EQ_U64(image_read(img, BSS_ADDR, buf, BSS_SIZE + 1), -1);
	CHECK_EQ_U64(image_read(img, UINT64_MAX, buf, 2), -1);
}

static void reject_truncations(void)
{
	const size_t fixed[] = {0, 1, 3, 4, 15, 16, 52, 63, 64, 65, 119};
	Elf64_Ehdr eh = get_ehdr(orig);
	char what[64];
	size_t i, len;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		snprintf(what, sizeof(what), "truncated to %zu bytes",
			 fixed[i]);
		expect_reject(what, orig, fixed[i]);
	}
	/* The section header table is at the end of the file, so every
	 * truncation must fail; probe through the whole file. */
	for (len = 120; len < orig_size; len += 97) {
		snprintf(what, sizeof(what), "truncated to %zu bytes", len);
		expect_reject_quietly(what, orig, len, 1);
	}
	expect_reject("truncated inside shdrs", orig, eh.e_shoff + 1);
	expect_reject("truncated by one byte", orig, orig_size - 1);
}

static void reject_elf32(void)
{
	uint8_t *f = copy_orig();
	Elf32_Ehdr eh32 = {
		.e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS32,
			    ELFDATA2LSB, EV_CURRENT},
		.e_type = ET_EXEC,
		.e_machine = EM_386,
		.e_version = EV_CURRENT,
		.e_entry = 0x8048000,
		.e_phoff = sizeof(Elf32_Ehdr),
		.e_ehsize = sizeof(Elf32_Ehdr),
		.e_phentsize = sizeof(Elf32_Phdr),
	};

	expect_reject("i386 ELF header", &eh32, sizeof(eh32));
	f[EI_CLASS] = ELFCLASS32;
	expect_reject("EI_CLASS = ELFCLASS32", f, orig_size);
	free(f);
}

/* Flips one thing in a fresh copy of the fixture and expects a rejection. */
#define REJECT_EDIT(what, ...)                                                 \
	do {                                                                   \
		uint8_t *f = copy_orig();                                      \
		Elf64_Ehdr eh = get_ehdr(f);                                   \
		Elf64_Phdr ph = get_phdr(f, 0);                                \
		Elf64_Shdr sh;                                                 \
		(void)eh;                                                      \
		(void)ph;                                                      \
		(void)sh;                                                      \
		__VA_ARGS__;                                                   \
		expect_reject(what, f, orig_size);                             \
		free(f);                                                       \
	} while (0)

static void reject_bad_headers(void)
{
	REJECT_EDIT("bad magic", f[1] = 'X');
	REJECT_EDIT("big endian", f[EI_DATA] = ELFDATA2MSB);
	REJECT_EDIT("EI_VERSION 0", f[EI_VERSION] = EV_NONE);
	REJECT_EDIT("e_version 2", eh.e_version = 2; put_ehdr(f, &eh));
	REJECT_EDIT("e_machine EM_386", eh.e_machine = EM_386;
		    put_ehdr(f, &eh));
	REJECT_EDIT("e_machine EM_AARCH64", eh.e_machine = EM_AARCH64;
		    put_ehdr(f, &eh));
	REJECT_EDIT("e_type ET_REL", eh.e_type = ET_REL; put_ehdr(f, &eh));
	REJECT_EDIT("e_type ET_CORE", eh.e_type = ET_CORE; put_ehdr(f, &eh));
	REJECT_EDIT("e_phentsize 32", eh.e_phentsize = 32; put_ehdr(f, &eh));
	REJECT_EDIT("e_phnum 0", eh.e_phnum = 0; put_ehdr(f, &eh));
	REJECT_EDIT("e_phnum PN_XNUM", eh.e_phnum = PN_XNUM; put_ehdr(f, &eh));
	REJECT_EDIT("e_phnum 200", eh.e_phnum = 200; put_ehdr(f, &eh));
	REJECT_EDIT("e_phoff wraps", eh.e_phoff = UINT64_MAX - 8;
		    put_ehdr(f, &eh));
	REJECT_EDIT("e_shoff wraps", eh.e_shoff = UINT64_MAX - 8;
		    put_ehdr(f, &eh));
	REJECT_EDIT("e_shoff past end", eh.e_shoff = orig_size;
		    put_ehdr(f, &eh));
	REJECT_EDIT("e_shentsize 40", eh.e_shentsize = 40; put_ehdr(f, &eh));
	REJECT_EDIT("e_shnum 0 with e_shoff", eh.e_shnum = 0; put_ehdr(f, &eh));
	REJECT_EDIT("e_shstrndx out of range", eh.e_shstrndx = eh.e_shnum;
		    put_ehdr(f, &eh));
	REJECT_EDIT("e_shstrndx SHN_XINDEX", eh.e_shstrndx = SHN_XINDEX;
		    put_ehdr(f, &eh));
	REJECT_EDIT("e_shstrndx not a strtab", eh.e_shstrndx = 1;
		    put_ehdr(f, &eh));
}

static void reject_bad_segments(void)
{
	REJECT_EDIT("no PT_LOAD", ph.p_type = PT_NOTE; put_phdr(f, 0, &ph);
		    ph = get_phdr(f, 1); ph.p_type = PT_NOTE;
		    put_phdr(f, 1, &ph));
	REJECT_EDIT("p_filesz > p_memsz", ph.p_filesz = ph.p_memsz + 1;
		    put_phdr(f, 0, &ph));
	REJECT_EDIT("p_offset past end", ph.p_offset = orig_size;
		    put_phdr(f, 0, &ph));
	REJECT_EDIT("p_offset wraps", ph.p_offset = UINT64_MAX - 4;
		    put_phdr(f, 0, &ph));
	REJECT_EDIT("p_filesz past end", ph.p_filesz = orig_size;
		    ph.p_memsz = orig_size; put_phdr(f, 0, &ph));
	REJECT_EDIT("p_vaddr wraps", ph.p_vaddr = UINT64_MAX - 0x10;
		    put_phdr(f, 0, &ph));
	REJECT_EDIT("p_paddr wraps", ph.p_paddr = UINT64_MAX - 0x10;
		    put_phdr(f, 0, &ph));
	REJECT_EDIT("overlapping segments", ph = get_phdr(f, 1);
		    ph.p_vaddr = TEXT_ADDR + 0x10; put_phdr(f, 1, &ph));
}

static void reject_bad_sections(void)
{
	size_t symtab = find_shdr_of_type(orig, SHT_SYMTAB);
	size_t shstrtab = get_ehdr(orig).e_shstrndx;
	size_t strtab = get_shdr(orig, symtab).sh_link;

	REJECT_EDIT("section name out of range", sh = get_shdr(f, 1);
		    sh.sh_name = UINT32_MAX; put_shdr(f, 1, &sh));
	REJECT_EDIT("section data past end", sh = get_shdr(f, 2);
		    sh.sh_offset = UINT64_MAX - 2; put_shdr(f, 2, &sh));
	REJECT_EDIT("section names unterminated", sh = get_shdr(f, shstrtab);
		    f[sh.sh_offset + sh.sh_size - 1] = 'x');
	REJECT_EDIT("section names empty", sh = get_shdr(f, shstrtab);
		    sh.sh_size = 0; put_shdr(f, shstrtab, &sh));
	REJECT_EDIT("symtab entsize 16", sh = get_shdr(f, symtab);
		    sh.sh_entsize = 16; put_shdr(f, symtab, &sh));
	REJECT_EDIT("symtab size uneven", sh = get_shdr(f, symtab);
		    sh.sh_size -= 1; put_shdr(f, symtab, &sh));
	REJECT_EDIT("symtab past end", sh = get_shdr(f, symtab);
		    sh.sh_size = 24ull << 40; put_shdr(f, symtab, &sh));
	REJECT_EDIT("symtab sh_link 0", sh = get_shdr(f, symtab);
		    sh.sh_link = 0; put_shdr(f, symtab, &sh));
	REJECT_EDIT("symtab sh_link 999", sh = get_shdr(f, symtab);
		    sh.sh_link = 999; put_shdr(f, symtab, &sh));
	REJECT_EDIT("symtab sh_link to itself", sh = get_shdr(f, symtab);
		    sh.sh_link = (uint32_t)symtab; put_shdr(f, symtab, &sh));
	REJECT_EDIT("symbol names unterminated", sh = get_shdr(f, strtab);
		    f[sh.sh_offset + sh.sh_size - 1] = 'x');
	REJECT_EDIT("symbol name out of range", sh = get_shdr(f, symtab);
		    memset(f + sh.sh_offset + 3 * sizeof(Elf64_Sym), 0xff, 4));
	REJECT_EDIT("two symtabs", sh = get_shdr(f, strtab);
		    sh.sh_type = SHT_SYMTAB; put_shdr(f, strtab, &sh));
}

static void reject_bad_files(void)
{
	static const char text[] = "#!/bin/sh\necho this is not an ELF\n";
	struct guest_image img;
	char path[320], err[256];

	snprintf(path, sizeof(path), "%s/does-not-exist.elf", tmpdir);
	expect_reject_path("a missing file", path, 0);
	expect_reject_path("a directory", tmpdir, 0);
	expect_reject("a shell script", text, sizeof(text) - 1);
	expect_reject("ELF magic only", ELFMAG, SELFMAG);

	/* A newline in the path must not split the message. */
	snprintf(path, sizeof(path), "%s/two\nlines.elf", tmpdir);
	CHECK_EQ_U64(image_load(path, &img, err, sizeof(err)), -1);
	CHECK(err[0] && !strchr(err, '\n') && strstr(err, "two?lines.elf"));

	/* A short buffer gets a cut but terminated message; none at all is
	 * allowed too. */
	CHECK_EQ_U64(image_load(path, &img, err, 8), -1);
	CHECK_EQ_U64(strlen(err), 7);
	CHECK_EQ_U64(image_load(path, &img, NULL, 0), -1);
}

/* Variants that must still load. */
static void accept_variants(void)
{
	struct guest_image img;
	char err[256], buf[64];
	uint8_t *f = copy_orig();
	Elf64_Ehdr eh = get_ehdr(f);

	eh.e_type = ET_DYN;
	put_ehdr(f, &eh);
	CHECK(!write_case(f, orig_size));
	CHECK_EQ_U64(image_load(casepath, &img, err, sizeof(err)), 0);
	CHECK_EQ_U64(img.nsyms, 14);
	image_free(&img);

	/* Without section headers: no symbols, names fall back to hex. */
	eh.e_type = ET_EXEC;
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = SHN_UNDEF;
	put_ehdr(f, &eh);
	CHECK(!write_case(f, orig_size));
	CHECK_EQ_U64(image_load(casepath, &img, err, sizeof(err)), 0);
	CHECK_EQ_U64(img.nsyms, 0);
	CHECK_EQ_U64(img.nsects, 0);
	CHECK_EQ_U64(img.nsegs, 2);
	CHECK_EQ_STR(image_format_addr(&img, 0x400020, buf, sizeof(buf)),
		     "0x400020");
	CHECK(image_section(&img, ".entry.text") == NULL);
	CHECK(image_symbol_at(&img, 0x400020) == NULL);
	image_free(&img);
	/* image_free leaves an image that can be freed again. */
	image_free(&img);

	unlink(casepath);
	free(f);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void exercise(const struct guest_image *img, uint64_t *seed)
{
	char buf[128];
	uint8_t bytes[64];
	uint64_t addr, back;
	size_t i;

	for (i = 0; i < 64; i++) {
		addr = i < 32 ? TEXT_ADDR - 0x40 + xorshift(seed) % 0x1100
			      : xorshift(seed);
		image_symbol_at(img, addr);
		image_format_addr(img, addr, buf, sizeof(buf));
		image_parse_addr(img, buf, &back);
		image_read(img, addr, bytes, xorshift(seed) % sizeof(bytes));
	}
	for (i = 0; i < img->nsects; i++)
		image_section(img, img->sects[i].name);
	image_section(img, ".entry.text");
}

/* Random byte mutations of the fixture: loading must never crash (the
 * sanitizers watch), and a rejection must still be a proper message. */
static void fuzz_mutations(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	Elf64_Ehdr eh = get_ehdr(orig);
	size_t headers = eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr);
	size_t tables =
		get_shdr(orig, find_shdr_of_type(orig, SHT_SYMTAB)).sh_offset;
	struct guest_image img;
	int iter, n, accepted = 0, good_messages = 1;
	char err[512];
	size_t pos;

	for (iter = 0; iter < FUZZ_ITERATIONS; iter++) {
		uint8_t *f = copy_orig();

		for (n = 1 + xorshift(&seed) % 4; n > 0; n--) {
			/* Aim at what gets parsed: the ELF and program
			 * headers, and the symbol and string tables and
			 * section headers that end the file. */
			if (xorshift(&seed) % 2)
				pos = xorshift(&seed) % headers;
			else
				pos = tables +
				      xorshift(&seed) % (orig_size - tables);
			f[pos] = (uint8_t)xorshift(&seed);
		}
		if (write_case(f, orig_size)) {
			CHECK(!"cannot write fuzz case");
			free(f);
			break;
		}
		if (!image_load(casepath, &img, err, sizeof(err))) {
			accepted++;
			exercise(&img, &seed);
			image_free(&img);
		} else if (!err[0] || strchr(err, '\n') ||
			   !strstr(err, casepath)) {
			good_messages = 0;
			fprintf(stderr, "  fuzz %d: bad message \"%s\"\n", iter,
				err);
		}
		free(f);
	}
	unlink(casepath);
	CHECK(good_messages);
	printf("  fuzz: %d of %d mutants loaded\n", accepted, iter);
}

static int make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_loader.XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror(tmpdir);
		return -1;
	}
	snprintf(casepath, sizeof(casepath), "%s/case.elf", tmpdir);
	return 0;
}

int main(int argc, char **argv)
{
	struct guest_image img;
	char err[512];

	if (argc != 2) {
		fprintf(stderr, "usage: %s FIXTURE.elf\n", argv[0]);
		return 2;
	}
	if (image_load(argv[1], &img, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	orig = read_file(argv[1], &orig_size);
	if (!orig || make_tmpdir()) {
		fprintf(stderr, "%s: cannot set up\n", argv[0]);
		return 1;
	}

	test_layout(&img);
	test_symbol_at(&img);
	test_format(&img);
	test_parse(&img);
	test_symbol_addr(&img);
	test_sections(&img);
	test_read(&img);
	image_free(&img);

	reject_bad_files();
	reject_truncations();
	reject_elf32();
	reject_bad_headers();
	reject_bad_segments();
	reject_bad_sections();
	accept_variants();
	fuzz_mutations();

	rmdir(tmpdir);
	free(orig);
	return check_summary("test_loader");
}
