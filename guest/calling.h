/* Assembly helpers shared by the runtime and the stubs, in the spirit of
 * Linux's arch/x86/entry/calling.h: building and tearing down a pt_regs
 * (layout in ist_abi.h). PUSH_REGS touches no register it has not saved
 * yet, so a GPR not yet pushed still holds the interrupted value. */
#ifndef IST_CALLING_H
#define IST_CALLING_H

#include "ist_abi.h"

/* EXPECT from, to, what: boundaries in [from, to) must get verdict `what`
 * (IST_EXPECT_*); every other boundary must pass. Kept in a non-allocated
 * section: the host reads it from the ELF. */
.macro EXPECT from, to, what
	.pushsection .ist_expect, "", @progbits
	.quad \from, \to, \what
	.popsection
.endm

/* EXPECT_REENTRY what: every schedule in which an event enters an IST stack
 * whose handler is still running (the same stack, before that handler's
 * IRET) must get `what`; the design does not protect against it. */
.macro EXPECT_REENTRY what
	.pushsection .ist_expect_reentry, "", @progbits
	.quad \what
	.popsection
.endm

/* RULES rules: the frame rules (IST_RULE_* ORed) the oracle must apply. */
.macro RULES rules
	.pushsection .ist_rules, "", @progbits
	.quad \rules
	.popsection
.endm

/* FIXUP_TABLE from, to, table: a hand-kept table with one byte per byte of
 * the code in [from, to), the number of stack bytes that code has popped
 * before the instruction holding that byte (Xen mini-os's
 * critical_fixup_table). The harness derives the same from the decode and
 * reports every instruction where the two disagree. */
.macro FIXUP_TABLE from, to, table
	.pushsection .ist_fixup, "", @progbits
	.quad \from, \to, \table
	.popsection
.endm

/* BODY_STACK from, to: the stub runs its handler bodies on this stack of
 * its own, [from, to), not on their IST stacks (mini-os's merge needs the
 * IST stack free for the nested event). The oracle checks RSP in a body
 * against this range instead. */
.macro BODY_STACK from, to
	.pushsection .ist_body_stack, "", @progbits
	.quad \from, \to
	.popsection
.endm

/* COMMIT events, label: where the entry for `events` commits (the atomic
 * IST entry: the first instruction after the one that moves RSP onto the
 * main stack). With RULES IST_RULE_COMMIT. */
.macro COMMIT events, label
	.pushsection .ist_commit, "", @progbits
	.quad \events, \label
	.popsection
.endm

/* GATE_IST name, index: the IST slot of the gate of asm_exc_<name> (nmi,
 * debug or machine_check); 0 delivers the event on the stack it
 * interrupts, as kernels did before IST. Without it: IST_INDEX_NMI, _DB,
 * _MC. The runtime builds its IDT from it, the harness reads it from the
 * ELF. */
.macro GATE_IST name, index
	.pushsection .rodata
	.globl ist_gate_\name
ist_gate_\name:
	.byte \index
	.popsection
.endm

/* STUB_INFO "one line": what `ist-torture list` prints for the stub. */
.macro STUB_INFO text
	.pushsection .ist_stub, "", @progbits
	.asciz "\text"
	.popsection
.endm

/* TRACE_USER from, to: user code in [from, to) is traced like entry text:
 * every boundary there is an injection point (the maskable interrupt, at
 * CPL3, is what a user-side design like scheduler activations must
 * survive). Stepping at CPL3 needs a back end that stops there (QEMU,
 * hardware KVM; not kvm_pvm). At most 4. */
.macro TRACE_USER from, to
	.pushsection .ist_trace_user, "", @progbits
	.quad \from, \to
	.popsection
.endm

/* USER_SCRATCH from, to: user memory in [from, to) that the design writes
 * on its own (activation records, the stack an upcall runs on): the oracle
 * does not compare it with the golden run. At most 4. */
.macro USER_SCRATCH from, to
	.pushsection .ist_user_scratch, "", @progbits
	.quad \from, \to
	.popsection
.endm

/* HANDLES events: the event kinds (IST_EVENT_* ORed) this stub has entries
 * for; the sweep injects only those. Without it: IST_EVENT_NMI. */
.macro HANDLES events
	.pushsection .ist_handles, "", @progbits
	.quad \events
	.popsection
.endm

/* ASSUME events, from, to, "why": the stub's design assumes none of
 * `events` arrives at a boundary in [from, to). Schedules that break an
 * assumption are still run; their failures are reported apart, as
 * outside-assumptions, with `why`. */
.macro ASSUME events, from, to, text
	.pushsection .ist_assume, "", @progbits
	.quad \events, \from, \to
0:	.ascii "\text"
	.fill IST_ASSUME_TEXT - (. - 0b), 1, 0
	.popsection
.endm

/* KNOWN_HOLE events, from, to, "why": like ASSUME, but the design knows
 * real hardware can break it: an accepted hole, not a guarantee. The sweep
 * reports its failures apart all the same; the fuzzer reports them as
 * findings (the hole it must find), while it passes over failures that
 * break a plain ASSUME. */
.macro KNOWN_HOLE events, from, to, text
	ASSUME (\events) | IST_ASSUME_HOLE, \from, \to, "\text"
.endm

#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102

/* The paranoid GS decision (Linux's paranoid_entry, without its fence):
 * the kernel's GS base is negative, so MSR_GS_BASE's sign says whether
 * SWAPGS is due, whatever the interrupted CS claims. EBX = 1: the kernel's
 * GS was live; EBX = 0: SWAPGS done, for PARANOID_GS_EXIT to undo (RBX is
 * callee-saved, so it survives the body). Clobbers EAX, ECX and EDX. */
.macro PARANOID_GS_ENTRY
	movl $1, %ebx
	movl $MSR_GS_BASE, %ecx
	rdmsr
	testl %edx, %edx
	js 8f
	xorl %ebx, %ebx
	swapgs
8:
.endm

.macro PARANOID_GS_EXIT
	testl %ebx, %ebx
	jnz 9f
	swapgs
9:
.endm

/* PLAIN_PARANOID_ENTRY name, body: a whole entry `name` for an IST gate:
 * CLD, pt_regs, the paranoid GS decision, body(pt_regs), IRETQ. Nothing
 * guards its IST stack against a nested event of its own vector. */
.macro PLAIN_PARANOID_ENTRY name, body
	.globl \name
	.type \name, @function
\name:
	cld
	pushq $-1			/* orig_ax */
	PUSH_REGS
	PARANOID_BODY_IRET \body
	.size \name, . - \name
.endm

/* PARANOID_BODY_IRET body: with pt_regs built at RSP (orig_ax above it),
 * the paranoid GS decision, body(pt_regs), GS back, pt_regs torn down,
 * IRETQ. The end every paranoid entry shares. */
.macro PARANOID_BODY_IRET body
	PARANOID_GS_ENTRY
	movq %rsp, %rdi
	call \body
	PARANOID_GS_EXIT
	POP_REGS
	addq $8, %rsp			/* orig_ax */
	iretq
.endm

/* CS_GS_ENTRY body: the ordinary exception entry of the time, SWAPGS
 * decided by the interrupted CS (user CS: SWAPGS in and out), around a
 * call to body(pt_regs). Wrong wherever the CPU is at CPL0 on the user's
 * GS: cs-swapgs (NMI) and movss-db (#DB) show it. */
.macro CS_GS_ENTRY body
	cld
	testb $3, 8(%rsp)		/* the interrupted CS */
	jz 6f
	swapgs
6:
	CALL_BODY \body
	testb $3, 8(%rsp)
	jz 7f
	swapgs
7:
	iretq
.endm

/* Expects orig_ax already pushed above the hardware frame. */
.macro PUSH_REGS
	pushq %rdi
	pushq %rsi
	pushq %rdx
	pushq %rcx
	pushq %rax
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
.endm

/* Leaves RSP at orig_ax. */
.macro POP_REGS
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rax
	popq %rcx
	popq %rdx
	popq %rsi
	popq %rdi
.endm

/* CALL_BODY body: pt_regs around a call to body(pt_regs), for an entry
 * whose GS and stack are already right. Expects RSP at the hardware frame
 * and leaves it there. */
.macro CALL_BODY body
	pushq $-1			/* orig_ax */
	PUSH_REGS
	movq %rsp, %rdi
	call \body
	POP_REGS
	addq $8, %rsp
.endm

#endif
