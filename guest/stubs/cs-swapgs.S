/* cs-swapgs: NMI entry that decides SWAPGS by the interrupted CS. Buggy.
 *
 * Models the pre-paranoid style of IST entry: "if the interrupted CS is
 * user, SWAPGS". That is wrong wherever the CPU is at CPL0 while the user's
 * GS is still live: the SYSCALL gap (SYSCALL has switched CS but the entry
 * has not yet executed SWAPGS) and the exit window (after the exit SWAPGS,
 * before SYSRETQ). An NMI there runs its body on the user's GS base. This
 * is the decision that made CVE-2018-8897 exploitable on several kernels:
 * their #DB entry tested the interrupted CS, and a #DB deferred by MOV SS
 * onto the first instruction of the SYSCALL entry arrived with kernel CS and
 * the user's GS. Linux's NMI and #MC entries read MSR_GS_BASE instead.
 *
 * Verdict it must get: invariant (GS base) at exactly the boundaries of the
 * SYSCALL gap (entry_SYSCALL_64+0x0) and the exit window (the SYSRETQ after
 * the exit SWAPGS); pass everywhere else.
 */
#include "syscall_linux.inc"

	STUB_INFO "Linux-style SYSCALL entry; NMI decides SWAPGS by interrupted CS: fails in the SYSCALL gap and exit window"

	EXPECT .Lsyscall_gap_start, .Lsyscall_gap_end, IST_EXPECT_INVARIANT
	EXPECT .Lexit_window_start, .Lexit_window_end, IST_EXPECT_INVARIANT

	.section .entry.text, "ax"
	.globl asm_exc_nmi
	.type asm_exc_nmi, @function
asm_exc_nmi:
	CS_GS_ENTRY exc_nmi
	.size asm_exc_nmi, . - asm_exc_nmi
