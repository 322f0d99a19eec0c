/* nmi-no-ist: an NMI gate without IST, on a kernel that enters with
 * SYSCALL.
 *
 * Models the x86-64 port before it gave NMI a stack of its own: the gate
 * delivers on whatever stack the CPU is on. SYSCALL switches CS but not
 * RSP, so from the first instruction of the SYSCALL entry until it has
 * loaded the kernel stack, and again on the way out from the moment it
 * has put the user's RSP back until SYSRETQ, the CPU runs at CPL0 on a
 * stack the user chose: an NMI there pushes its frame, and its handler
 * runs, on user memory. Linux's Documentation/x86/kernel-stacks names
 * this as why NMI (like #DB, #MC and #DF) uses IST: "NMI can be delivered
 * at any time, including when the kernel is in the middle of switching
 * stacks." GS is decided the paranoid way (MSR_GS_BASE), so the stack is
 * the only thing wrong.
 *
 * Verdicts it must get: invariant (the body on the user's stack) at the
 * SYSCALL entry up to the stack switch (entry_SYSCALL_64+0x0, +0x3, +0xc)
 * and at the exit from the user's RSP to SYSRETQ
 * (entry_SYSRETQ_unsafe_stack+0x0, +0x3); pass everywhere else.
 */
#include "syscall_linux.inc"

	STUB_INFO "NMI gate without IST: at CPL0 on the user's RSP (SYSCALL entry and exit) the NMI runs on the user's stack"

	GATE_IST nmi, 0
	EXPECT entry_SYSCALL_64, entry_SYSCALL_64_safe_stack, IST_EXPECT_INVARIANT
	EXPECT entry_SYSRETQ_unsafe_stack, .Lexit_window_end, IST_EXPECT_INVARIANT

	.section .entry.text, "ax"
	PLAIN_PARANOID_ENTRY asm_exc_nmi, exc_nmi
