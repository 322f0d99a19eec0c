/* naive-ist: NMI, #DB and #MC on IST stacks with no nesting protection.
 *
 * Models a kernel that just put NMI, #DB and #MC on IST stacks and stopped
 * there: Linux before the nested-NMI work of 2012 (v3.3, Steven Rostedt's
 * "x86: Add workaround to NMI iret woes") and many hobby kernels. Each
 * handler builds pt_regs at the top of its IST stack, decides SWAPGS the
 * paranoid way (MSR_GS_BASE's sign bit, so the SYSCALL gap and the exit
 * window are handled), calls its C body and IRETQs. Nothing stops a second
 * event of the same vector from rewinding RSP to the same IST top.
 *
 * Verdicts it must get:
 *   depth 1: pass at every boundary, for nmi, db and mc.
 *   depth 2: a #DB at any boundary of the #DB handler before its IRETQ is
 *     delivered on IST 3 again, rewinds RSP to its top and writes its frame
 *     and pt_regs over the outer #DB's: the outer returns to a boundary of
 *     its own handler instead of the interrupted context: fails. (#MC in
 *     the #MC handler likewise; before the body clears MCIP it is an
 *     architectural shutdown.) NMI -> NMI waits for the IRETQ and passes.
 *   depth 3: NMI -> #DB -> NMI and NMI -> #MC -> NMI: the inner handler's
 *     IRETQ unblocks NMIs, the third NMI rewinds the NMI stack over the
 *     outer NMI's frame, and the outer NMI returns into its own handler:
 *     fails.
 */
#include "syscall_linux.inc"

	STUB_INFO "NMI/#DB/#MC on plain IST stacks, paranoid GS by MSR_GS_BASE, no nesting protection: fails when a vector nests on its own stack"

	HANDLES IST_EVENT_NMI|IST_EVENT_DB|IST_EVENT_MC
	/* Nothing protects a frame on an IST stack from the next event of the
	 * same vector: every such schedule must fail. */
	EXPECT_REENTRY IST_EXPECT_FAIL

/* Each entry: pt_regs on its IST stack (calling.h). */
	.section .entry.text, "ax"
	PLAIN_PARANOID_ENTRY asm_exc_nmi, exc_nmi
	PLAIN_PARANOID_ENTRY asm_exc_debug, exc_debug
	PLAIN_PARANOID_ENTRY asm_exc_machine_check, exc_machine_check
