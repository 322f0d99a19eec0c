/* crosscheck_compare: two back ends' outcomes of the same schedules.
 * Outcomes made here, so that every kind of disagreement is shown to be
 * found and reported field by field, A against B, with the boundary as
 * symbol+offset and its disassembly; and agreement to report nothing. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crosscheck.h"

static struct crosscheck_outcome outcome(const char *schedule,
					 const char *verdict, uint64_t rip)
{
	struct crosscheck_outcome o;

	memset(&o, 0, sizeof(o));
	snprintf(o.schedule, sizeof(o.schedule), "%s", schedule);
	snprintf(o.insn, sizeof(o.insn), "swapgs");
	snprintf(o.verdict, sizeof(o.verdict), "%s", verdict);
	o.end = "done";
	o.ndeliveries = 1;
	o.delivery[0].vector = 2;
	o.delivery[0].rip = rip;
	o.delivery[0].cs = 0x8;
	return o;
}

/* Compares a and b (copied: the comparison sorts them); the report goes
 * into out. */
static size_t compare(const struct crosscheck_outcome *a, size_t na,
		      const struct crosscheck_outcome *b, size_t nb,
		      size_t *only, char **out)
{
	struct crosscheck_outcome *x = calloc(na + 1, sizeof(*x));
	struct crosscheck_outcome *y = calloc(nb + 1, sizeof(*y));
	size_t len, differ;
	FILE *f = open_memstream(out, &len);

	memcpy(x, a, na * sizeof(*a));
	memcpy(y, b, nb * sizeof(*b));
	differ = crosscheck_compare(f, x, na, y, nb, only);
	fclose(f);
	free(x);
	free(y);
	return differ;
}

int main(void)
{
	struct crosscheck_outcome a[3], b[3];
	size_t only;
	char *out;

	/* The same outcomes, listed in another order: nothing to say. */
	a[0] = outcome("nmi@entry_SYSCALL_64+0x0", "invariant", 0x1000);
	a[1] = outcome("nmi@entry_SYSCALL_64+0x3", "pass", 0x1003);
	a[2] = outcome("mc@entry_SYSCALL_64+0x3", "pass", 0x1003);
	b[0] = a[2];
	b[1] = a[0];
	b[2] = a[1];
	CHECK_EQ_U64(compare(a, 3, b, 3, &only, &out), 0);
	CHECK_EQ_U64(only, 0);
	CHECK(out[0] == 0);
	free(out);

	/* Another verdict, and another RIP in the first logged delivery. */
	snprintf(b[1].verdict, sizeof(b[1].verdict), "pass");
	b[2].delivery[0].rip = 0x1013;
	CHECK_EQ_U64(compare(a, 3, b, 3, &only, &out), 2);
	CHECK_EQ_U64(only, 0);
	CHECK(strstr(out, "nmi@entry_SYSCALL_64+0x0  (swapgs)") != NULL);
	CHECK(strstr(out, "verdict") != NULL);
	CHECK(strstr(out, "invariant") != NULL);
	CHECK(strstr(out, "log entry 1 rip") != NULL);
	CHECK(strstr(out, "0x0000000000001003   0x0000000000001013") != NULL);
	/* The schedule that agrees is not printed. */
	CHECK(strstr(out, "mc@entry_SYSCALL_64+0x3") == NULL);
	free(out);

	/* A schedule one back end ran and the other did not; and a run that
	 * ended otherwise, with more deliveries logged. */
	b[0] = a[0];
	b[1] = a[1];
	b[1].end = "hang";
	b[1].ndeliveries = 5;
	CHECK_EQ_U64(compare(a, 3, b, 2, &only, &out), 1);
	CHECK_EQ_U64(only, 1);
	CHECK(strstr(out, "mc@entry_SYSCALL_64+0x3  (swapgs)\n        run on A "
			  "only") != NULL);
	CHECK(strstr(out, "run ended") != NULL);
	CHECK(strstr(out, "log entries") != NULL);
	free(out);
	return check_summary("test_crosscheck_compare");
}
