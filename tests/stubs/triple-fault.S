/* triple-fault (test only): an NMI entry that triple-faults on purpose in
 * the SYSCALL gap and the exit window, and works everywhere else.
 *
 * It proves that a guest which shuts down is a verdict and not the end of
 * the sweep: after each KVM_EXIT_SHUTDOWN the next trial restores the vCPU
 * and must pass where the stub declares pass.
 *
 * Verdict it must get: shutdown at the boundaries where GS is the user's
 * (entry_SYSCALL_64+0x0 up to the stack switch, and from the exit SWAPGS
 * on); pass in between, where GS is already the kernel's, so the plain
 * entry below needs no SWAPGS.
 */
#include "syscall_linux.inc"

	STUB_INFO "test: NMI triple-faults in the user-GS windows, passes elsewhere"

	EXPECT entry_SYSCALL_64, entry_SYSCALL_64_safe_stack, IST_EXPECT_SHUTDOWN
	EXPECT entry_SYSRETQ_unsafe_stack, .Lexit_window_end, IST_EXPECT_SHUTDOWN

	.section .entry.text, "ax"
	.globl asm_exc_nmi
	.type asm_exc_nmi, @function
asm_exc_nmi:
	cmpq $entry_SYSCALL_64_safe_stack, (%rsp)
	jb .Ltriple_fault
	cmpq $entry_SYSRETQ_unsafe_stack, (%rsp)
	jae .Ltriple_fault
	CALL_BODY exc_nmi
	iretq
.Ltriple_fault:
	lidt empty_idt(%rip)
	ud2
	.size asm_exc_nmi, . - asm_exc_nmi

	.section .rodata
empty_idt:
	.word 0
	.quad 0
