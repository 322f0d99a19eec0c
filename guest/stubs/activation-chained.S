/* activation-chained: scheduler activations with chained records. Correct.
 *
 * activation with its fix: the kernel takes the first record not in use
 * and marks it busy, so an interrupt during a restore gets a record of its
 * own (the chain grows by one per nesting level), and the user side gives
 * its record back only once it has read all of it (upcall_done): after
 * that a nested interrupt may take the same record again, since nothing
 * reads it any more. The IRETQ frame and RDI, still to be used, are on the
 * user's stack, not in the record.
 *
 * Verdict it must get: pass at every schedule of irq to depth 2.
 */
#include "activation.inc"

	STUB_INFO "scheduler activations, a fresh record per nesting level, given back after the restore's last read: passes"

	.section .entry.text, "ax"
	.globl asm_irq
	.type asm_irq, @function
asm_irq:
	UPCALL_SAVE
	movq $act_records, %rdx
	movl $ACT_MAX, %ecx
1:	cmpq $0, ACT_BUSY(%rdx)
	je 2f
	addq $ACT_SIZE, %rdx
	decl %ecx
	jnz 1b
	ud2				/* more nesting than records */
2:	movq $1, ACT_BUSY(%rdx)
	UPCALL_COPY
	UPCALL_ENTER
	.size asm_irq, . - asm_irq

	UPCALL_RESTORE 1
