#include "crosscheck.h"

#include <stdlib.h>
#include <string.h>

static int by_schedule(const void *a, const void *b)
{
	return strcmp(((const struct crosscheck_outcome *)a)->schedule,
		      ((const struct crosscheck_outcome *)b)->schedule);
}

/* Prints the fields of a and b that differ; returns how many. */
static int report_difference(FILE *f, const struct crosscheck_outcome *a,
			     const struct crosscheck_outcome *b)
{
	int n = 0;

#define DIFF(field, fmt, x, y)                                                 \
	do {                                                                   \
		if (n++ == 0)                                                  \
			fprintf(f, "  %s  (%s)\n        %-28s %-20s %-20s\n",  \
				a->schedule, a->insn, "field", "A", "B");      \
		fprintf(f, "        %-28s " fmt "   " fmt "\n", field, x, y);  \
	} while (0)
	if (strcmp(a->verdict, b->verdict))
		DIFF("verdict", "%-18s", a->verdict, b->verdict);
	if (a->end && b->end && strcmp(a->end, b->end))
		DIFF("run ended", "%-18s", a->end, b->end);
	if (a->ndeliveries != b->ndeliveries)
		DIFF("log entries", "%-18d", a->ndeliveries, b->ndeliveries);
	for (int i = 0; i < a->ndeliveries && i < b->ndeliveries &&
			i < CROSSCHECK_DELIVERIES;
	     i++) {
		static const char *const names[] = {"vector", "rip", "cs",
						    "rflags", "rsp", "ss"};
		const uint64_t *x = &a->delivery[i].vector;
		const uint64_t *y = &b->delivery[i].vector;

		for (int k = 0; k < 6; k++) {
			char field[40];

			if (x[k] == y[k])
				continue;
			snprintf(field, sizeof(field), "log entry %d %s", i + 1,
				 names[k]);
			DIFF(field, "0x%016llx", (unsigned long long)x[k],
			     (unsigned long long)y[k]);
		}
	}
#undef DIFF
	return n;
}

size_t crosscheck_compare(FILE *f, struct crosscheck_outcome *a, size_t na,
			  struct crosscheck_outcome *b, size_t nb, size_t *only)
{
	size_t i = 0, j = 0, differ = 0;

	qsort(a, na, sizeof(*a), by_schedule);
	qsort(b, nb, sizeof(*b), by_schedule);
	*only = 0;
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : by_schedule(&a[i], &b[j]);

		if (c) {
			const struct crosscheck_outcome *o =
				c < 0 ? &a[i++] : &b[j++];

			fprintf(f,
				"  %s  (%s)\n        run on %s only (%s "
				"there): "
				"the back ends' traces differ\n",
				o->schedule, o->insn, c < 0 ? "A" : "B",
				o->verdict);
			(*only)++;
			continue;
		}
		differ += report_difference(f, &a[i++], &b[j++]) > 0;
	}
	return differ;
}
