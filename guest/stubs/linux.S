/* linux: Linux-style entry, correct.
 *
 * Models arch/x86/entry/entry_64.S: the SYSCALL entry with SWAPGS and the
 * stack switch (syscall_linux.inc), and an NMI on its own IST stack whose
 * paranoid entry decides SWAPGS by reading MSR_GS_BASE, never by the
 * interrupted CS: a kernel GS base has bit 63 set. This is the fix for the
 * class of bug cs-swapgs reproduces, because the interrupted CS says "kernel"
 * in the SYSCALL gap and the exit window while GS is still the user's.
 *
 * Nested NMIs are not handled here (no "NMI executing" variable, no repeat
 * frame): at depth 1 the CPU blocks NMIs until this stub's IRETQ.
 *
 * Verdict it must get: pass at every boundary.
 */
#include "syscall_linux.inc"

	STUB_INFO "Linux-style SYSCALL entry; paranoid NMI decides SWAPGS by MSR_GS_BASE: passes everywhere"

	.section .entry.text, "ax"
	.globl asm_exc_nmi
	.type asm_exc_nmi, @function
asm_exc_nmi:
	cld
	pushq $-1			/* orig_ax */
	PUSH_REGS

	/* paranoid_entry: EBX = 1 when GS was already the kernel's. */
	movl $MSR_GS_BASE, %ecx
	rdmsr
	movl $1, %ebx
	testl %edx, %edx
	js 1f
	swapgs
	xorl %ebx, %ebx
1:
	movq %rsp, %rdi
	call exc_nmi

	/* paranoid_exit: undo exactly what the entry did. */
	testl %ebx, %ebx
	jnz 2f
	swapgs
2:
	POP_REGS
	addq $8, %rsp			/* orig_ax */
	iretq
	.size asm_exc_nmi, . - asm_exc_nmi
