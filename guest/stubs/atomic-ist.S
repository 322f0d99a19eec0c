/* atomic-ist: the atomic IST entry proposed for Linux (Lai Jiangshan, RFC,
 * 3 April 2023, never merged), for NMI, #DB and #MC.
 *
 * Every IST entry is abortable, replicable and idempotent: it saves the
 * CPU's frame (save 1) and the GPRs (save 2, touching no GPR first) on its
 * own IST stack, then calls atomic-ist.c's aist_copy, which walks the
 * chain of IST entries it interrupted back to the outermost (locate), and
 * writes one frame per level onto the main stack M (copy): the outermost
 * context from its CPU frame and from whichever entry finished saving the
 * GPRs, and each inner level reset "as if the entry it interrupted had
 * just committed". One instruction then moves RSP onto M (commit), and
 * with it every interrupted entry of the chain has committed at the same
 * instant. On M: paranoid GS by MSR_GS_BASE, the body, IRETQ. An event
 * that interrupts an entry before its commit sees it parked at its commit
 * label, and its IRETQ returns there: no IRET ever lands inside an entry,
 * so Linux's known hole (an IRET unblocking NMIs inside the NMI prologue)
 * cannot open. shared/reference/ist-designs.md part B has the layout and
 * the windows; this follows it, without PTI, IBRS and #VC.
 *
 * Declared: the commit labels (COMMIT) and the commit-point frame rule
 * (RULES IST_RULE_COMMIT: an event delivered while an entry is in flight
 * gets RIP = that entry's commit label, RSP = RAX = its frame on M, the
 * other GPRs 0); M as the stack bodies run on (BODY_STACK); and the
 * design's hardware assumption (B.4): no event nests itself before its
 * commit, and so no #DB source inside any entry (a #DB in the NMI entry
 * that interrupted an uncommitted #DB entry is that #DB nesting itself:
 * it rewinds IST 3, the locate loop finds IST 3 again and again, and the
 * chain ends in the design's #DF). A #MC inside the #MC entry meets MCIP
 * and shuts down; an NMI cannot nest in the NMI entry.
 *
 * Verdicts it must get: pass at every schedule of nmi, db and mc up to
 * depth 3 inside that assumption, the depth-3 NMI > #MC > NMI that breaks
 * Linux's prologue included.
 */
#include "syscall_linux.inc"

	STUB_INFO "atomic IST entry (Lai, 2023): save, locate, copy, one-instruction commit onto a main stack: passes"

	HANDLES IST_EVENT_NMI|IST_EVENT_DB|IST_EVENT_MC
	RULES IST_RULE_COMMIT
	COMMIT IST_EVENT_NMI, commit_nmi
	COMMIT IST_EVENT_DB, commit_debug
	COMMIT IST_EVENT_MC, commit_machine_check
	BODY_STACK aist_main_stack, aist_main_stack_top
	ASSUME IST_EVENT_DB, asm_exc_debug, commit_debug, "no atomic IST event nests itself before its commit (B.4): no #DB source in the #DB entry"
	ASSUME IST_EVENT_DB, asm_exc_nmi, commit_nmi, "no #DB source inside an entry (B.4): under an uncommitted #DB it would nest that #DB"
	ASSUME IST_EVENT_DB, asm_exc_machine_check, commit_machine_check, "no #DB source inside an entry (B.4): under an uncommitted #DB it would nest that #DB"

	.bss
	.balign 16
	.globl aist_main_stack, aist_main_stack_top
aist_main_stack:
	.skip 8192
aist_main_stack_top:

/* One atomic IST entry. */
.macro AIST_ENTRY name, body
	.globl asm_exc_\name
	.type asm_exc_\name, @function
asm_exc_\name:
	/* Save 1 is the CPU's frame. No GPR is touched until save 2 is
	 * done: an inner entry may take them from here. */
	cld
	pushq $-1			/* orig_ax */
	PUSH_REGS			/* save 2: pt_regs at T-168 */
	xorl %eax, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %esi, %esi
	movq %rsp, %rdi
	call aist_copy			/* locate and copy: RAX = our frame on M */
	.globl start_commit_\name
start_commit_\name:
	movq %rax, %rsp			/* commit */
	.globl commit_\name
commit_\name:
	/* On M. An interrupted entry's push is not replayed: orig_ax again. */
	movq $-1, PTREGS_ORIG_AX(%rsp)
	PARANOID_BODY_IRET \body
	.globl asm_exc_\name\()_end
asm_exc_\name\()_end:
	.size asm_exc_\name, . - asm_exc_\name
.endm

	.section .entry.text, "ax"
	AIST_ENTRY nmi, exc_nmi
	AIST_ENTRY debug, exc_debug
	AIST_ENTRY machine_check, exc_machine_check
