/* #DB, two ways:
 *  - by payload: an exception made pending with the DR6 bits its cause sets
 *    (KVM_CAP_EXCEPTION_PAYLOAD); KVM writes them to DR6 on delivery.
 *    Never exception.injected: KVM ignores the payload then.
 *  - by the guest's own debug registers: an execute breakpoint in DRn at the
 *    boundary, so the CPU itself raises the fault. On kvm_pvm these fire at
 *    CPL0 only (shared/reference/kvm-here.md).
 * Which causes can exist at a boundary is the model's business. */
#include "../harness/model.h"
#include "injector.h"

static uint64_t dr6_for(const struct injection *inj)
{
	switch (inj->db_cause) {
	case DB_SINGLE_STEP:
		return DR6_BS;
	case DB_ICEBP:
		return 0; /* no DR6 status bit names it */
	case DB_INSN_BREAKPOINT:
	case DB_DATA_BREAKPOINT:
	default:
		return 1ULL << (inj->db_breakpoint & 3);
	}
}

/* Ln enable with RW (00 execute, 11 read/write) and LEN (00 one byte, 01
 * two) for DRn; bit 10 reads as one. */
static int arm_guest_breakpoint(struct vm *vm, const struct injection *inj,
				uint64_t addr, uint64_t rw, uint64_t len)
{
	struct kvm_debugregs dr = {0};
	int n = inj->db_breakpoint & 3;

	dr.db[n] = addr;
	dr.dr6 = IST_DR6_RESERVED;
	dr.dr7 = 0x400 | (1ULL << (2 * n)) | rw << (16 + 4 * n) |
		 len << (18 + 4 * n);
	return vm_set_guest_debugregs(vm, &dr);
}

/* A data breakpoint's #DB is the guest's own watchpoint where the back end
 * raises it as hardware does (VM_DATA_BP_HELD: armed before the MOV SS
 * runs, stepper.c boundary_start). Elsewhere it is made where the model
 * says its trap lands (`at`: past the instruction in the MOV SS shadow), by
 * payload or by an execute breakpoint there: the same frame, the same Bn in
 * DR6; only the DR7 the body reads tells them apart. kvm_pvm never fires
 * data breakpoints, QEMU raises the trap before the shadowed instruction
 * (tests/test_model.c, fact 8). */
static int inject_db(struct vm *vm, const struct injection *inj,
		     const struct vcpu_state *at)
{
	/* The real one: the MOV SS reads a word. */
	if (inj->db_cause == DB_DATA_BREAKPOINT && inj->db_arm_watch)
		return arm_guest_breakpoint(vm, inj, inj->db_watch_addr, 3,
					    inj->db_watch_addr & 1 ? 0 : 1);
	if (inj->db_method == DB_BY_GUEST_DR &&
	    (inj->db_cause == DB_INSN_BREAKPOINT ||
	     inj->db_cause == DB_DATA_BREAKPOINT))
		return arm_guest_breakpoint(vm, inj, at->regs.rip, 0, 0);
	return vm_pend_debug_exception(vm, dr6_for(inj));
}

/* A schedule's #DB is one event. A breakpoint left armed would fire again
 * each time any code ran its address before the body clears DR7 (another
 * handler's exit sharing it, say), which the schedule never asked for: so
 * it is disarmed as soon as the CPU has delivered its #DB. DR6 keeps the
 * bit the CPU set; the body sees DR7 disarmed, as after an injected #DB. */
static int delivered_db(struct vm *vm, const struct injection *inj)
{
	if (inj->db_method != DB_BY_GUEST_DR && !inj->db_arm_watch)
		return 0;
	return vm_disarm_guest_breakpoints(vm);
}

const struct injector db_injector = {
	.name = "db",
	.kind = EVENT_DB,
	.vector = IST_VEC_DB,
	.ist_index = IST_INDEX_DB,
	.inject = inject_db,
	.delivered = delivered_db,
};
