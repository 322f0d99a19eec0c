/* One trial: restore the snapshot at a boundary, make the event pending,
 * run the guest to completion, observe. */
#ifndef IST_TRIAL_H
#define IST_TRIAL_H

#include "../injectors/injector.h"
#include "observe.h"
#include "stepper.h"

#define TRIAL_TIMEOUT_MS 2000

/* Returns -1 only when the harness itself failed (KVM refused a restore or
 * a run); everything the guest does is in obs. */
int trial_run(struct vm *vm, const struct guest_layout *lay,
	      const struct boundary *at, const struct injection *inj,
	      unsigned timeout_ms, struct observation *obs);

#endif
