/* An exhaustive sweep of one stub: its golden run, then one trial per
 * (boundary, event kind), each judged by the oracle and compared with what
 * the stub declares it must get. */
#ifndef IST_SWEEP_H
#define IST_SWEEP_H

#include "../injectors/injector.h"
#include "oracle.h"
#include "stepper.h"

struct sweep_options {
	uint64_t seed;
	unsigned timeout_ms;
	unsigned events; /* bit mask of 1 << enum event_kind */
};

struct trial_record {
	size_t boundary; /* index into golden.b */
	enum event_kind event;
	struct verdict verdict;
	uint64_t declared; /* 0 (must pass) or IST_EXPECT_* */
	int as_declared;
};

struct stub_sweep {
	char name[64];
	struct guest_image img;
	struct guest_layout lay;
	struct golden golden;
	struct trial_record *trials;
	size_t ntrials, passed, failed, not_as_declared;
	int loaded;	 /* img, lay and golden are valid */
	char error[512]; /* why the stub could not be swept */
};

/* Returns 0 when the sweep ran (whatever the verdicts), -1 when the stub
 * could not be swept: its image is bad or its golden run fails (error says
 * which), or KVM failed under the harness (harness_error set). */
int sweep_stub(struct vm *vm, const char *name, const char *path,
	       const struct sweep_options *opt, struct stub_sweep *out,
	       int *harness_error);
void stub_sweep_free(struct stub_sweep *s);

/* Does a verdict meet a declaration? */
int verdict_as_declared(enum verdict_kind kind, uint64_t declared);

#endif
