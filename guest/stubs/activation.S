/* activation: scheduler activations with one activation record. Buggy.
 *
 * Models the design as first written in the discussions this project grew
 * out of, after Anderson et al., "Scheduler Activations" (SOSP 1991): on an
 * interrupt from user mode the kernel copies the interrupted context into
 * an activation record in user memory and upcalls; the user side restores
 * itself from the record with IRETQ (activation.inc). Here the kernel
 * always takes the same record, whether or not a restore is still reading
 * it: an interrupt during the restore overwrites the context being
 * restored with a half-restored one (the upcall's zeroed registers, or its
 * own RIP), and the first restore resumes with it. activation-chained is
 * the fix.
 *
 * Verdicts it must get: pass at depth 1 (an interrupt at the workload's
 * boundaries); at depth 2, an interrupt inside the user-side restore fails
 * (state-mismatch or hang, by how much was read) anywhere before
 * upcall_done, the end of its reads; after it, passes.
 */
#include "activation.inc"

	STUB_INFO "scheduler activations, one record reused while the user side still restores from it: fails"
	EXPECT upcall, upcall_done, IST_EXPECT_FAIL

	.section .entry.text, "ax"
	.globl asm_irq
	.type asm_irq, @function
asm_irq:
	UPCALL_SAVE
	movq $act_records, %rdx		/* the one record, whatever its state */
	UPCALL_COPY
	UPCALL_ENTER
	.size asm_irq, . - asm_irq

	UPCALL_RESTORE 0
