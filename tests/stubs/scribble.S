/* scribble (test only): an NMI entry that, landing on the SYSCALL entry's
 * first instruction, overwrites the workload's code (its page is mapped
 * writable, as a runaway handler nesting down through memory would find
 * it) and then works normally.
 *
 * It proves that a trial cannot poison the next one through the guest's
 * code: the run it scribbles in fails, every later one must pass, because
 * a snapshot restore puts back code that differs from the image.
 *
 * Verdict it must get: fail at entry_SYSCALL_64+0x0; pass elsewhere (but
 * in the exit window, where its plain entry meets the user's GS).
 */
#include "syscall_linux.inc"

	STUB_INFO "test: NMI overwrites the workload's code at the SYSCALL gap"
	EXPECT entry_SYSCALL_64, entry_SYSCALL_64+1, IST_EXPECT_FAIL
	EXPECT .Lexit_window_start, .Lexit_window_end, IST_EXPECT_FAIL

	.section .entry.text, "ax"
	.globl asm_exc_nmi
	.type asm_exc_nmi, @function
asm_exc_nmi:
	cmpq $entry_SYSCALL_64, (%rsp)
	jne 1f
	/* ud2 over the instruction after each system call. */
	movw $0x0b0f, workload_syscalls + 0xd
	movw $0x0b0f, workload_syscalls + 0x24
	movw $0x0b0f, workload_syscalls + 0x34
1:	CALL_BODY exc_nmi
	iretq
	.size asm_exc_nmi, . - asm_exc_nmi
