/* What a finished run of the guest left behind: how it ended, the final
 * vCPU state, the event log, the IST guard words and the workload's data.
 * The oracle judges these and nothing else.
 */
#ifndef IST_OBSERVE_H
#define IST_OBSERVE_H

#include "guest.h"
#include "vm.h"

enum run_end {
	RUN_DONE,     /* the workload reached its final OUT */
	RUN_PANIC,    /* the guest kernel gave up: exception vector in code */
	RUN_SHUTDOWN, /* triple fault */
	RUN_HANG,     /* no end within the time or exit budget, or HLT */
	RUN_STRAY,    /* an exit the guest has no business making */
};

struct observation {
	enum run_end end;
	uint64_t code; /* RUN_PANIC: the vector the guest reported */
	char detail[128];
	struct vcpu_state final;
	struct ist_log log;
	/* Per IST stack, the index of the first clobbered guard word, or -1. */
	int guard_lo_broken[IST_STACK_COUNT];
	int guard_hi_broken[IST_STACK_COUNT];
	/* Per IST stack, the five quads at its top where the CPU pushes an
	 * event's frame (RIP, CS, RFLAGS, RSP, SS): after a hang, they show
	 * whose frame an IRET there would return to. */
	uint64_t ist_top_frame[IST_STACK_COUNT][5];
	/* RUN_HANG proven by a loop: the RIP at which the whole machine
	 * state (registers, NMI state, writable memory) came back; else 0. */
	uint64_t loop_rip;
	uint8_t *user_data; /* user rw range at the end */
	size_t user_len;
};

int observation_init(struct observation *obs, const struct guest_layout *lay);
void observation_free(struct observation *obs);

/* Records how the run ended and everything the oracle needs from the VM. */
void observe(struct vm *vm, const struct guest_layout *lay, enum run_end end,
	     uint64_t code, const char *detail, struct observation *obs);

/* Exits a run may make before it counts as hung. */
#define RUN_EXIT_BUDGET	 256
#define RUN_LOOP_LOOK_MS 10

/* Runs the guest, breakpoints off, until it ends; then observe(). Returns
 * -1 only when KVM itself failed (a harness error, never the stub's).
 *
 * A run still going after RUN_LOOP_LOOK_MS is looked at for a loop: the
 * guest has no clock and no interrupt source, so if its whole state comes
 * back exactly at the same RIP, it will repeat forever. That is a hang at
 * once, with loop_rip set; otherwise the run goes on to timeout_ms. */
int run_to_completion(struct vm *vm, const struct guest_layout *lay,
		      unsigned timeout_ms, struct observation *obs);

/* Classifies one exit: 1 when it ends the run (then obs is filled), 0
 * when the run goes on. */
int run_classify_exit(struct vm *vm, const struct guest_layout *lay,
		      const struct vm_exit *ex, unsigned timeout_ms,
		      struct observation *obs);

const char *run_end_name(enum run_end end);

#endif
