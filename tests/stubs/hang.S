/* hang (test only): an NMI entry that spins forever when it lands in the
 * SYSCALL gap, and works everywhere else. At SWAPGS it counts while it
 * spins, so its state never repeats; later in the gap it spins in place.
 *
 * It proves that a guest which never finishes is bounded by the trial's
 * wall-clock limit and becomes a hang verdict, that one whose whole state
 * repeats is called a hang at once, naming where (hang_spin), and that the
 * next trial runs normally on the same vCPU.
 *
 * Verdict it must get: hang at the boundaries before the stack switch
 * (entry_SYSCALL_64 up to entry_SYSCALL_64_safe_stack); pass elsewhere
 * except where the plain entry below meets the user's GS (the exit window),
 * which it declares as a failure.
 */
#include "syscall_linux.inc"

	STUB_INFO "test: NMI spins forever in the SYSCALL gap"

	EXPECT entry_SYSCALL_64, entry_SYSCALL_64_safe_stack, IST_EXPECT_HANG
	EXPECT .Lexit_window_start, .Lexit_window_end, IST_EXPECT_FAIL

	.section .entry.text, "ax"
	.globl asm_exc_nmi
	.type asm_exc_nmi, @function
asm_exc_nmi:
	cmpq $entry_SYSCALL_64_safe_stack, (%rsp)
	jae 1f
	cmpq $entry_SYSCALL_64, (%rsp)
	jne hang_spin
	.globl hang_count
hang_count:
	incq %rax
	jmp hang_count
	.globl hang_spin
hang_spin:
	jmp hang_spin
1:	CALL_BODY exc_nmi
	iretq
	.size asm_exc_nmi, . - asm_exc_nmi
