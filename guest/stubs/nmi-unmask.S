/* nmi-unmask: an NMI handler that executes an IRET before it is done with
 * its IST stack.
 *
 * Models Linux before v3.3 (Steven Rostedt, "x86: Add workaround to NMI
 * iret woes", 2012; LWN, "The x86 NMI iret problem"): an NMI handler that
 * took a breakpoint (kprobes, ftrace's int3 patching) or a page fault
 * (a vmalloc'd address) came back from it through IRET, and every IRET
 * unblocks NMIs. The handler was still using the NMI stack, so the next
 * NMI was delivered at once, on the same IST top, over the running one's
 * frame. Here the exception's return is written out as an IRET to the next
 * instruction, at the point where such a fault would strike: after the
 * GPRs are saved and GS is decided, before the body runs.
 *
 * Verdicts it must get:
 *   depth 1: pass at every boundary (one NMI; the IRET to self only
 *     unblocks NMIs).
 *   depth 2, NMI -> NMI: a second NMI anywhere in the handler before its
 *     final IRETQ re-enters the NMI stack: before the IRET to self it is
 *     latched and lands right after it, after it it is delivered where it
 *     strikes. Either way it rewinds RSP to the IST top and writes its
 *     frame over the outer NMI's, which then returns into its own handler:
 *     fails (EXPECT_REENTRY). naive-ist passes the same schedules: its
 *     NMIs wait for the handler's one IRETQ.
 */
#include "syscall_linux.inc"

	STUB_INFO "NMI handler that IRETs to itself (a #BP or #PF inside it) while still on its IST stack: fails when a second NMI gets in"

	HANDLES IST_EVENT_NMI
	/* Once the IRET to self has unblocked NMIs, nothing guards the frame
	 * on the NMI stack: every re-entry must fail. */
	EXPECT_REENTRY IST_EXPECT_FAIL

	.section .entry.text, "ax"
	.globl asm_exc_nmi
	.type asm_exc_nmi, @function
asm_exc_nmi:
	cld
	pushq $-1			/* orig_ax */
	PUSH_REGS
	PARANOID_GS_ENTRY
	/* What the return from a #BP or #PF taken here does: an IRETQ, to
	 * the next instruction, on this stack. NMIs are unblocked from now on,
	 * though the frame above is still in use. */
	movq %rsp, %rax
	pushq $IST_SEL_KERNEL_SS
	pushq %rax
	pushfq
	pushq $IST_SEL_KERNEL_CS
	pushq $nmi_unmasked
	iretq
	.globl nmi_unmasked
nmi_unmasked:
	movq %rsp, %rdi
	call exc_nmi
	PARANOID_GS_EXIT
	POP_REGS
	addq $8, %rsp			/* orig_ax */
	iretq
	.size asm_exc_nmi, . - asm_exc_nmi
