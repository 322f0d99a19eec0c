/* percpu-kstack: a microkernel entry with one kernel stack per CPU, the
 * user state saved straight into the thread's control block, and NMI and
 * #MC gates without IST whose entry lets a nesting counter decide whether
 * to move to the kernel stack. Buggy.
 *
 * Models the design as first written in the discussions this project grew
 * out of (the same shape as seL4's and other microkernels' x86-64 entries,
 * where TSS.RSP0 points into the running thread's TCB). The counter says
 * "inside the kernel" from the moment the SYSCALL entry counts itself until
 * the return uncounts it, not while RSP is on the kernel stack: right after
 * the count and during the return's POP_REGS, RSP is still in the TCB, and
 * an NMI or #MC there stays on it and runs its body on the thread's save
 * area, a stack nobody can trust. Where the counter is zero the entry does
 * move to the kernel stack, but its frame and registers are pushed first,
 * where RSP points: the user's stack in the SYSCALL gap and after the
 * return has loaded the user's RSP, so the event writes into user memory.
 * (Pushed into the TCB's save area, they are overwritten again: harmless.)
 * percpu-kstack-ist is the fix.
 *
 * Verdicts it must get, for NMI and #MC alike: invariant (the body not on
 * the kernel stack) at entry_SYSCALL_64_counted and from
 * syscall_return_in_tcb up to syscall_return_uncounted; state-mismatch (the
 * workload's stack written) at entry_SYSCALL_64+0x0 to the move into the
 * TCB, and from syscall_return_user_rsp to SYSRETQ; pass elsewhere. At
 * depth 2, an NMI or #MC nested in a handler's own counted-but-not-
 * switched windows (NEST_ENTRY) fails (invariant) exactly when the outer
 * event struck on the TCB or the user's stack: reported apart (ASSUME).
 */
#include "percpu_kstack.inc"

	STUB_INFO "microkernel entry, user state saved into the TCB, NMI/#MC without IST, a nesting counter picks the stack: runs on the TCB"
	HANDLES IST_EVENT_NMI|IST_EVENT_MC
	GATE_IST nmi, 0
	GATE_IST machine_check, 0
	BODY_STACK kernel_stack, kernel_stack + 16384

	EXPECT entry_SYSCALL_64, entry_SYSCALL_64_in_tcb, IST_EXPECT_STATE_MISMATCH
	EXPECT entry_SYSCALL_64_counted, entry_SYSCALL_64_on_kstack, IST_EXPECT_INVARIANT
	EXPECT syscall_return_in_tcb, syscall_return_uncounted, IST_EXPECT_INVARIANT
	EXPECT syscall_return_user_rsp, syscall_return_end, IST_EXPECT_STATE_MISMATCH
	/* The handlers' own counted-but-not-switched windows (NEST_ENTRY): a
	 * nested NMI or #MC there fails exactly when the outer event struck
	 * on the TCB or the user's stack, and passes when it struck on the
	 * kernel stack. A declaration by window cannot say that, so these
	 * are reported apart, never hidden. */
	ASSUME IST_EVENT_NMI|IST_EVENT_MC, asm_exc_nmi_counted, asm_exc_nmi_on_kstack, "the same flaw nested: fails only under an outer event on the TCB or user stack"
	ASSUME IST_EVENT_NMI|IST_EVENT_MC, asm_exc_nmi_back, asm_exc_nmi_uncounted, "the same flaw nested: fails only under an outer event on the TCB or user stack"
	ASSUME IST_EVENT_NMI|IST_EVENT_MC, asm_exc_machine_check_counted, asm_exc_machine_check_on_kstack, "the same flaw nested: fails only under an outer event on the TCB or user stack"
	ASSUME IST_EVENT_NMI|IST_EVENT_MC, asm_exc_machine_check_back, asm_exc_machine_check_uncounted, "the same flaw nested: fails only under an outer event on the TCB or user stack"

/* NEST_ENTRY name, body: save where RSP points, count the entry, and move
 * to the kernel stack only when it is the first. RBX (PARANOID_GS_ENTRY)
 * and R12 are callee-saved, so they survive the body. The same flaw as the
 * SYSCALL path's, in the entry's own windows: counted but not yet on the
 * kernel stack (name_counted), and back on the interrupted stack but not
 * yet uncounted (name_back): a nested NMI or #MC there stays where RSP is.
 */
.macro NEST_ENTRY name, body
	cld
	pushq $-1			/* orig_ax */
	PUSH_REGS
	PARANOID_GS_ENTRY
	movq %rsp, %r12			/* this entry's pt_regs */
	incq kernel_nest(%rip)
	.globl \name\()_counted
\name\()_counted:
	cmpq $1, kernel_nest(%rip)
	jne 1f
	movq %gs:PERCPU_STACK_TOP, %rsp
1:
	.globl \name\()_on_kstack
\name\()_on_kstack:
	movq %r12, %rdi
	call \body
	movq %r12, %rsp
	.globl \name\()_back
\name\()_back:
	decq kernel_nest(%rip)
	.globl \name\()_uncounted
\name\()_uncounted:
	PARANOID_GS_EXIT
	POP_REGS
	addq $8, %rsp			/* orig_ax */
	iretq
.endm

	.section .entry.text, "ax"
	.globl asm_exc_nmi
	.type asm_exc_nmi, @function
asm_exc_nmi:
	NEST_ENTRY asm_exc_nmi, exc_nmi
	.size asm_exc_nmi, . - asm_exc_nmi

	.globl asm_exc_machine_check
	.type asm_exc_machine_check, @function
asm_exc_machine_check:
	NEST_ENTRY asm_exc_machine_check, exc_machine_check
	.size asm_exc_machine_check, . - asm_exc_machine_check
