/* movss-db: a #DB gate without IST whose entry decides SWAPGS by the
 * interrupted CS and trusts the stack it arrives on. Buggy.
 *
 * Models the kernels hit by CVE-2018-8897 / XSA-260 (POP SS / MOV SS
 * debug exceptions, 2018). A user sets a data breakpoint on its own memory
 * and loads SS from it right before SYSCALL: the breakpoint's trap is held
 * by the MOV SS shadow past the SYSCALL and arrives on the first
 * instruction of the SYSCALL entry, at CPL0, with the user's RSP and the
 * user's GS. The gate has no IST slot, so the CPU pushes the #DB frame
 * onto the user's stack; the entry sees kernel CS and skips SWAPGS, so the
 * body runs on the user's GS. Xen's fix (XSA-260) put #DB on an IST stack;
 * Linux's #DB was already on IST and paranoid (linux.S passes this).
 *
 * The kernel never puts an instruction breakpoint on its entry text (Linux
 * refuses hardware breakpoints and kprobes there), so those #DBs are
 * outside the design's assumptions: only the user's data breakpoint
 * reaches the SYSCALL entry, and that is the schedule the sweep must flag.
 * The #DB is raised where the trap lands (injectors/db.c): no back end
 * here fires the data breakpoint itself at the right place.
 *
 * Verdict it must get: invariant (the body on the user's stack and GS) for
 * the #DB of the data breakpoint on the workload's MOV SS operand, at
 * entry_SYSCALL_64+0x0 (each of the three system calls); every
 * instruction-breakpoint #DB is outside assumptions or passes.
 */
#include "syscall_linux.inc"

	STUB_INFO "#DB gate without IST, SWAPGS by CS: the MOV SS data breakpoint lands on the SYSCALL entry with the user's stack and GS"
	HANDLES IST_EVENT_DB

	GATE_IST debug, 0
	EXPECT .Lsyscall_gap_start, .Lsyscall_gap_end, IST_EXPECT_INVARIANT
	ASSUME IST_EVENT_DB_INSN, __entry_text_start, __entry_text_end, "no instruction breakpoint on entry text: the kernel refuses them there"

	.section .entry.text, "ax"
	.globl asm_exc_debug
	.type asm_exc_debug, @function
asm_exc_debug:
	CS_GS_ENTRY exc_debug
	.size asm_exc_debug, . - asm_exc_debug
