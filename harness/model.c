/* The facts behind each decision are in docs/oracle.md, each with the test
 * that checks it against KVM (tests/test_model.c). */
#include "model.h"

const char *model_outcome_name(enum model_outcome o)
{
	static const char *const names[] = {
		[MODEL_DELIVER] = "delivered",
		[MODEL_DEFER] = "deferred past the interrupt shadow",
		[MODEL_LATCH] = "latched while NMIs are blocked",
		[MODEL_MASKED] = "held while IF=0",
		[MODEL_SHUTDOWN] = "architectural shutdown",
		[MODEL_NO_EVENT] = "no event",
		[MODEL_IMPOSSIBLE] = "impossible here",
	};
	return o <= MODEL_IMPOSSIBLE ? names[o] : "?";
}

static int in_shadow(const struct vcpu_state *st)
{
	return st->events.interrupt.shadow &
	       (KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI);
}

static enum model_outcome decide_nmi(const struct vcpu_state *st,
				     const char **why)
{
	if (st->events.nmi.masked) {
		*why = "NMIs are blocked until the next IRET";
		return MODEL_LATCH;
	}
	if (in_shadow(st)) {
		*why = "a MOV SS / STI shadow holds NMIs for one instruction";
		return MODEL_DEFER;
	}
	*why = "NMIs unblocked, no shadow";
	return MODEL_DELIVER;
}

static enum model_outcome decide_db(const struct vcpu_state *st,
				    const struct injection *inj,
				    const char **why)
{
	switch (inj->db_cause) {
	case DB_INSN_BREAKPOINT:
		if (st->regs.rflags & RFLAGS_RF) {
			*why = "RF=1 suppresses instruction breakpoints";
			return MODEL_IMPOSSIBLE;
		}
		if (st->events.interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS) {
			*why = "an instruction breakpoint right after MOV SS "
			       "need not fire";
			return MODEL_IMPOSSIBLE;
		}
		*why = "instruction breakpoint (a fault, before the "
		       "instruction)";
		return MODEL_DELIVER;
	case DB_SINGLE_STEP:
		if (inj->db_held) {
			*why = "single-step trap held past the MOV SS shadow";
			return MODEL_DELIVER;
		}
		if (!(st->regs.rflags & RFLAGS_TF)) {
			*why = "no instruction here ran with TF=1";
			return MODEL_IMPOSSIBLE;
		}
		if (st->events.interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS) {
			*why = "a MOV SS shadow holds the single-step trap for "
			       "one instruction";
			return MODEL_DEFER;
		}
		*why = "single-step trap after an instruction that ran with "
		       "TF=1";
		return MODEL_DELIVER;
	case DB_DATA_BREAKPOINT:
		/* Only MOV SS loads are modelled: elsewhere a data
		 * breakpoint's trap is the same #DB (frame, DR6 bit) as an
		 * instruction breakpoint at the next boundary. */
		if (!inj->db_watch_from) {
			*why = "no MOV SS before this boundary read memory a "
			       "data breakpoint could watch";
			return MODEL_IMPOSSIBLE;
		}
		if (!inj->db_held &&
		    (st->events.interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS)) {
			*why = "the MOV SS shadow holds the data breakpoint's "
			       "trap past the next instruction";
			return MODEL_DEFER;
		}
		*why = "data breakpoint trap on the MOV SS operand, held past "
		       "the instruction in its shadow";
		return MODEL_DELIVER;
	case DB_ICEBP:
		/* An instruction's own trap, like INT3: no shadow holds it.
		 * The stepper stops on INT1 (disasm.c), so no trace has one
		 * yet. */
		if (!inj->db_after_int1) {
			*why = "no INT1 (ICEBP) ran right before this boundary";
			return MODEL_IMPOSSIBLE;
		}
		*why = "ICEBP (INT1) trap after the instruction";
		return MODEL_DELIVER;
	}
	*why = "unknown #DB cause";
	return MODEL_IMPOSSIBLE;
}

static enum model_outcome decide_mc(const struct vcpu_state *st,
				    const struct injection *inj,
				    const char **why)
{
	if (!(inj->mc_status & MCI_STATUS_UC)) {
		*why = "a corrected error only fills the bank";
		return MODEL_NO_EVENT;
	}
	/* Uncorrected, no action required (UCNA): logged, no #MC. */
	if (!inj->mcg_status &&
	    !(inj->mc_status &
	      (MCI_STATUS_PCC | MCI_STATUS_S | MCI_STATUS_AR))) {
		*why = "an uncorrected error with no action required (UCNA) "
		       "only fills the bank";
		return MODEL_NO_EVENT;
	}
	if (!(st->sregs.cr4 & CR4_MCE)) {
		*why = "#MC with CR4.MCE=0 shuts the CPU down";
		return MODEL_SHUTDOWN;
	}
	if (st->mcg_status & IST_MCG_STATUS_MCIP) {
		*why = "#MC while MCG_STATUS.MCIP=1 shuts the CPU down";
		return MODEL_SHUTDOWN;
	}
	*why = "#MC is blocked by neither NMI blocking nor shadows";
	return MODEL_DELIVER;
}

/* A maskable interrupt: IF masks it, both shadows hold it one instruction
 * (the STI shadow is what `sti; sysexit` relies on), NMI blocking does not
 * matter. */
static enum model_outcome decide_irq(const struct vcpu_state *st,
				     const char **why)
{
	if (!(st->regs.rflags & RFLAGS_IF)) {
		*why = "IF=0 masks it until interrupts are enabled";
		return MODEL_MASKED;
	}
	if (in_shadow(st)) {
		*why = "an STI / MOV SS shadow holds it for one instruction";
		return MODEL_DEFER;
	}
	*why = "IF=1, no shadow";
	return MODEL_DELIVER;
}

enum model_outcome model_decide(const struct vcpu_state *st,
				const struct injection *inj, const char **why)
{
	switch (inj->kind) {
	case EVENT_NMI:
		return decide_nmi(st, why);
	case EVENT_DB:
		return decide_db(st, inj, why);
	case EVENT_MC:
		return decide_mc(st, inj, why);
	case EVENT_IRQ:
		return decide_irq(st, why);
	default:
		*why = "unknown event kind";
		return MODEL_IMPOSSIBLE;
	}
}
