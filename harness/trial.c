/* A trial never steps to its boundary: it starts from the boundary's
 * snapshot, stops once at the event's gate to check where it landed, and
 * then runs free. */
#include <stdio.h>

#include "trial.h"

/* Runs until the gate's breakpoint; 1 if hit, 0 if the run ended first
 * (then obs is filled), -1 on a KVM failure. */
static int run_to_gate(struct vm *vm, const struct guest_layout *lay,
		       uint64_t gate, unsigned timeout_ms,
		       struct observation *obs)
{
	struct vm_exit ex;

	if (vm_set_breakpoints(vm, &gate, 1) || vm_run(vm, timeout_ms, &ex))
		return -1;
	if (ex.kind == VM_EXIT_BREAKPOINT)
		return 1;
	/* Ended before the gate (a shutdown, say), or goes on without it. */
	if (run_classify_exit(vm, lay, &ex, timeout_ms, obs))
		return 0;
	return run_to_completion(vm, lay, timeout_ms, obs) ? -1 : 0;
}

int trial_run(struct vm *vm, const struct guest_image *img,
	      const struct guest_layout *lay, const struct boundary *at,
	      const struct injection *inj, unsigned timeout_ms,
	      struct observation *obs, char *why, size_t whylen)
{
	const struct injector *injector = injector_for(inj->kind);
	uint64_t gate = injector ? guest_gate(lay, injector->vector) : 0;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint64_t frame_rip;
	int hit;

	if (!injector || boundary_start(vm, lay, at, inj)) {
		snprintf(why, whylen,
			 "the back end refused to restore the snapshot or to "
			 "inject");
		return -1;
	}
	/* On KVM a guest breakpoint would exit to the host while host
	 * debugging is on; there those #DBs are checked by their frame in the
	 * log instead. */
	if (!guest_in_entry_text(lay, gate) || at->addr == gate ||
	    (inj->kind == EVENT_DB && inj->db_method == DB_BY_GUEST_DR &&
	     !(vm_features(vm) & VM_GUEST_DR_BESIDE_HOST_BP)))
		return run_to_completion(vm, lay, timeout_ms, obs);

	hit = run_to_gate(vm, lay, gate, timeout_ms, obs);
	if (hit < 0) {
		snprintf(why, whylen,
			 "the back end failed running to the %s gate",
			 injector->name);
		return -1;
	}
	if (hit == 0)
		return 0;
	vm_get_regs(vm, &regs, &sregs);
	if (injector->delivered && injector->delivered(vm, inj)) {
		snprintf(why, whylen,
			 "the back end refused to finish the %s's delivery",
			 injector->name);
		return -1;
	}
	if (vm_read_virt(vm, sregs.cr3, regs.rsp, &frame_rip, 8) ||
	    frame_rip != at->addr) {
		char want[160], got[160];
		snprintf(why, whylen,
			 "the %s was delivered at %s, not at %s where the "
			 "model says it lands",
			 injector->name,
			 image_format_addr(img, frame_rip, got, sizeof(got)),
			 image_format_addr(img, at->addr, want, sizeof(want)));
		return -1;
	}
	return run_to_completion(vm, lay, timeout_ms, obs);
}
