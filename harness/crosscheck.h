/* Two back ends' outcomes of the same schedules, compared (crosscheck):
 * each schedule's verdict, how its run ended, and the deliveries the guest
 * logged. Apart from the command so that a disagreement can be tested
 * without two back ends that disagree.
 */
#ifndef IST_CROSSCHECK_H
#define IST_CROSSCHECK_H

#include <stdint.h>
#include <stdio.h>

#define CROSSCHECK_DELIVERIES 8 /* compared per schedule, from the log */

/* What one back end made of one schedule. */
struct crosscheck_outcome {
	char schedule[600]; /* schedule_format: the key */
	char insn[112];	    /* the last step's disassembly */
	char verdict[32];
	const char *end; /* run_end_name; NULL: not run (harness error) */
	int ndeliveries; /* in the guest's log (may exceed the kept) */
	struct {
		uint64_t vector, rip, cs, rflags, rsp, ss;
	} delivery[CROSSCHECK_DELIVERIES];
};

/* Sorts both lists by schedule and prints, to f, each schedule whose
 * outcomes differ (symbol+offset, disassembly, the differing fields A
 * against B) or that only one list has. Returns how many differ; *only
 * gets how many are in one list alone. */
size_t crosscheck_compare(FILE *f, struct crosscheck_outcome *a, size_t na,
			  struct crosscheck_outcome *b, size_t nb,
			  size_t *only);

#endif
