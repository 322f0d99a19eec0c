/* The oracle: judges a trial's observation against the golden run and the
 * machine state where the event was delivered. It judges data only and
 * never touches the VM.
 *
 * When the model says the CPU must shut down, a shutdown is the verdict
 * architectural-shutdown and nothing else is judged; no shutdown then is a
 * harness error (the model and the CPU disagree).
 *
 * Layers, most decisive first (the verdict is the first layer that fails;
 * every failing field of every layer is listed):
 *   machine:    no triple fault, #DF, other exception, hang or stray exit;
 *   events:     each delivered event's body ran exactly once;
 *   invariants: inside that body GS base and CR3 are the kernel's, RSP is
 *               on the vector's IST stack (or the stub's BODY_STACK),
 *               DF=AC=0, no TF in the frame;
 *               every IST guard word intact;
 *   frame:      the interrupted context each body was given equals the
 *               vCPU state at the boundary where its event was delivered;
 *   state:      the workload's final registers, segments, FS/GS bases,
 *               data and system calls equal the golden run's.
 */
#ifndef IST_ORACLE_H
#define IST_ORACLE_H

#include "observe.h"

enum verdict_kind {
	VERDICT_PASS,
	VERDICT_SHUTDOWN,
	VERDICT_DOUBLE_FAULT,
	VERDICT_UNEXPECTED_EXCEPTION,
	VERDICT_HANG,
	VERDICT_STRAY_EXIT,
	VERDICT_LOST_EVENT,
	VERDICT_DOUBLE_HANDLED,
	VERDICT_INVARIANT,
	VERDICT_FRAME_MISMATCH,
	VERDICT_STATE_MISMATCH,
	/* Apart from the failures: */
	VERDICT_ARCH_SHUTDOWN, /* the CPU had to shut down: not the stub's */
	VERDICT_OUTSIDE_ASSUMPTIONS, /* failed, but broke a declared assumption
				      */
	VERDICT_HARNESS_ERROR,	     /* the harness failed: never the stub's */
	VERDICT_KIND_COUNT,
};

struct field_diff {
	enum verdict_kind layer;
	char field[40];
	uint64_t expected, observed;
};

#define VERDICT_MAX_DIFFS 48

struct verdict {
	enum verdict_kind kind;
	char summary[400];
	uint64_t fault_rip; /* where an unexpected exception struck, or 0 */
	int ndiffs;
	int dropped_diffs; /* beyond VERDICT_MAX_DIFFS */
	struct field_diff diffs[VERDICT_MAX_DIFFS];
};

/* What the oracle knows of the guest, from its layout. */
struct oracle_context {
	uint64_t kernel_gs_base;
	uint64_t kernel_cr3;
	uint64_t ist_lo[IST_STACK_COUNT + 1], ist_hi[IST_STACK_COUNT + 1];
	/* BODY_STACK: every body runs in [body_lo, body_hi) instead of its
	 * IST stack; both 0 when the stub declares none. */
	uint64_t body_lo, body_hi;
	/* USER_SCRATCH, as offsets into the user rw range: not compared. */
	uint64_t scratch_lo[4], scratch_hi[4];
	int nscratch;
};

/* One event the model says the CPU delivered during the trial. */
struct expected_delivery {
	uint64_t vector;   /* as the guest logs it */
	const char *event; /* "nmi": prefixes the field names */
	int ist_index;	   /* the IST stack its body must run on */
	/* The vCPU at the boundary where the CPU delivered the event: the
	 * interrupted context its body must be given. */
	const struct vcpu_state *frame;
	/* Linux's nested NMI (RULES IST_RULE_NMI_REPEAT): no body of its
	 * own, but at least one body of the vector must start after it
	 * (ist-designs.md A.5: coalescing is allowed). bodies_before: the
	 * vector's bodies in the log where it was delivered. */
	int coalesces;
	unsigned bodies_before;
};

#define ORACLE_MAX_DELIVERIES 8

struct oracle_case {
	const struct observation *golden;
	const struct observation *trial;
	const struct expected_delivery *deliveries; /* in schedule order */
	int ndeliveries;
	/* The model says the last injection shuts the CPU down. */
	int expect_shutdown;
};

void oracle_context_init(struct oracle_context *ctx,
			 const struct guest_layout *lay, uint64_t kernel_cr3);
void oracle_judge(const struct oracle_context *ctx, const struct oracle_case *c,
		  struct verdict *v);

const char *verdict_name(enum verdict_kind kind);

/* The diff of a verdict naming `field` ("nmi.frame.rip"), or NULL. */
const struct field_diff *verdict_field(const struct verdict *v,
				       const char *field);

#endif
