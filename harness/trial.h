/* One trial: restore the snapshot at the boundary where the model says the
 * last event of a schedule is delivered, make it pending, run the guest to
 * completion, observe. Everything earlier in the schedule is already in that
 * snapshot, so a depth-3 trial costs what a depth-1 trial does. */
#ifndef IST_TRIAL_H
#define IST_TRIAL_H

#include "../injectors/injector.h"
#include "observe.h"
#include "stepper.h"

/* A trial here runs well under a millisecond; this only bounds hangs. */
#define TRIAL_TIMEOUT_MS 500

/* Returns 0 when the guest ran (whatever it did: that is in obs), or -1 on
 * a harness error, with why: the back end refused a restore or a run, or the
 * event landed somewhere other than `at` (checked at its gate, from the frame
 * the CPU pushed). */
int trial_run(struct vm *vm, const struct guest_image *img,
	      const struct guest_layout *lay, const struct boundary *at,
	      const struct injection *inj, unsigned timeout_ms,
	      struct observation *obs, char *why, size_t whylen);

#endif
