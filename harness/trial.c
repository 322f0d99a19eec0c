/* A trial never steps to its boundary: it starts from the boundary's
 * snapshot, and runs free once the event is pending. */
#include "trial.h"

int trial_run(struct vm *vm, const struct guest_layout *lay,
	      const struct boundary *at, const struct injection *inj,
	      unsigned timeout_ms, struct observation *obs)
{
	const struct injector *injector = injector_for(inj->kind);

	if (!injector || vm_set_breakpoints(vm, NULL, 0) ||
	    snapshot_restore(vm, lay, &at->snap) ||
	    injector->inject(vm, inj, &at->snap.state))
		return -1;
	return run_to_completion(vm, lay, timeout_ms, obs);
}
