/* Injectors: one file per event kind behind this interface, and one line
 * per kind in the table in injectors.c. An injector only makes its event
 * pending on a vCPU that has just been restored to a boundary; when the
 * CPU delivers it is the architecture's business (and the oracle's model).
 */
#ifndef IST_INJECTOR_H
#define IST_INJECTOR_H

#include "../harness/vm.h"

enum event_kind {
	EVENT_NMI,
	EVENT_DB,
	EVENT_MC,
	EVENT_IRQ,
	EVENT_KIND_COUNT,
};

/* What raised a #DB: the architecture allows each only where it can exist
 * (model.c), and the cause decides the DR6 bits. */
enum db_cause {
	DB_INSN_BREAKPOINT, /* DR0-3 execute breakpoint on this instruction */
	DB_SINGLE_STEP,	    /* trap after an instruction that ran with TF=1 */
	DB_DATA_BREAKPOINT, /* trap after an access the previous insn made */
	DB_ICEBP,	    /* trap after INT1 (ICEBP, F1) */
};

/* How a #DB is raised: an exception injected with its DR6 payload, or the
 * guest's own debug registers armed so the CPU raises it. */
enum db_method {
	DB_BY_PAYLOAD,
	DB_BY_GUEST_DR,
};

struct injection {
	enum event_kind kind;
	/* #DB */
	enum db_cause db_cause;
	enum db_method db_method;
	int db_breakpoint; /* which of DR0-3 (B0-B3 in DR6) */
	/* DB_DATA_BREAKPOINT: the MOV SS whose operand the breakpoint
	 * watches (its address, and the address it reads). */
	uint64_t db_watch_from, db_watch_addr;
	/* ... raised by the guest's own watchpoint, armed before the MOV SS
	 * runs (stepper.h, boundary_start), not where its trap lands. */
	int db_arm_watch;
	/* A trap (single-step, data breakpoint) raised before the instruction
	 * in a MOV SS shadow and held past it: due at this boundary whatever
	 * that instruction did (a SYSCALL clears TF). */
	int db_held;
	/* DB_ICEBP: the instruction before this boundary was INT1. */
	int db_after_int1;
	/* #MC: bank 0 and MCG_STATUS as the schedule chose them */
	uint64_t mc_status, mc_addr, mc_misc, mcg_status;
};

/* The injection an event kind gets when the schedule says nothing more: a
 * #DB from an instruction breakpoint in DR0, by payload; an uncorrected,
 * restartable #MC (RIPV, EIPV). */
void injection_default(struct injection *inj, enum event_kind kind);

struct injector {
	const char *name; /* as on the command line: "nmi" */
	enum event_kind kind;
	uint8_t vector; /* what the guest's log records for it */
	int ist_index;	/* the IST stack its gate uses (IST_INDEX_*) */
	/* Makes the event pending on a vCPU just restored to the boundary
	 * whose state is `at`. */
	int (*inject)(struct vm *vm, const struct injection *inj,
		      const struct vcpu_state *at);
	/* Optional: called where the CPU has just delivered the event (the
	 * vCPU on the first instruction of its gate), before anything of the
	 * handler runs. */
	int (*delivered)(struct vm *vm, const struct injection *inj);
};

/* NULL when there is no injector by that name. */
const struct injector *injector_by_name(const char *name);
const struct injector *injector_for(enum event_kind kind);
/* The kind's name ("nmi"), or "?" for a number that is no kind (read from
 * a file). */
const char *event_kind_name(int kind);
/* "nmi" ... comma-separated, for error messages. */
const char *injector_names(void);

#endif
