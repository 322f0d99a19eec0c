/* Exception vectors the stub does not provide. Each builds a pt_regs and
 * calls exception_body(), which logs the exception and panics: in this
 * guest any exception other than the injected events is a failure. #DF
 * (vector 8) is one of them, on its own IST stack.
 *
 * These are runtime code, not entry text: they are not under test and hold
 * no injection points.
 */
#include "calling.h"

#define HAS_ERROR_CODE(n) \
	((n) == 8 || ((n) >= 10 && (n) <= 14) || (n) == 17 || (n) == 21 || \
	 (n) == 29 || (n) == 30)

.macro VECTOR n
	.globl vector_\n
vector_\n:
	.if !HAS_ERROR_CODE(\n)
	pushq $-1
	.endif
	PUSH_REGS
	cld
	mov %rsp, %rdi
	mov $\n, %esi
	call exception_body
1:	hlt
	jmp 1b
.endm

	.text
	.globl vector_table
vector_table:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	VECTOR \n
	.endr

	.section .rodata
	.balign 8
	.globl vector_entries
vector_entries:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad vector_\n
	.endr

/* A stub that has no NMI, #DB or #MC entry of its own gets these (HANDLES
 * keeps the sweep from injecting those events). */
	.weak asm_exc_nmi
	.set asm_exc_nmi, vector_2
	.weak asm_exc_debug
	.set asm_exc_debug, vector_1

/* The maskable interrupt's entry for a stub without one: SWAPGS by the
 * interrupted CS, right where interrupts are only ever enabled at CPL3
 * (every bundled stub but sti-shadow and sti-padded, which bring their
 * own). */
	.text
	.weak asm_irq
asm_irq:
	CS_GS_ENTRY exc_irq
	.weak asm_exc_machine_check
	.set asm_exc_machine_check, vector_18
