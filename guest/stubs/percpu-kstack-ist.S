/* percpu-kstack-ist: percpu-kstack with its fix. Correct.
 *
 * The same microkernel SYSCALL path (percpu_kstack.inc: user state saved
 * into the thread's control block, a nesting counter, one kernel stack per
 * CPU), with NMI and #MC moved onto IST stacks and their entries made
 * paranoid (GS by MSR_GS_BASE): they no longer ask the counter, nor run
 * wherever RSP happens to point, so neither the user's stack nor the TCB
 * ever carries an event's frame or body. The kernel stack stays separate
 * from the TCB, which only ever holds the saved user state.
 *
 * Verdict it must get: pass at every schedule of nmi and mc up to depth 2,
 * inside the one assumption it shares with Linux (no #MC inside the #MC
 * entry: nothing protects its IST stack from a second one).
 */
#include "percpu_kstack.inc"

	STUB_INFO "percpu-kstack fixed: NMI/#MC on IST with paranoid entries, kernel stack apart from the TCB: passes"
	HANDLES IST_EVENT_NMI|IST_EVENT_MC
	ASSUME IST_EVENT_MC, asm_exc_machine_check, asm_exc_machine_check_end, "a kernel-mode #MC is fatal: a second #MC before the first IRETs is not survivable"

	.section .entry.text, "ax"
	PLAIN_PARANOID_ENTRY asm_exc_nmi, exc_nmi
	PLAIN_PARANOID_ENTRY asm_exc_machine_check, exc_machine_check
	.globl asm_exc_machine_check_end
asm_exc_machine_check_end:
