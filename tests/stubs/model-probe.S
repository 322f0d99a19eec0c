/* model-probe (test only): the instruction sequences tests/test_model.c needs
 * to hold the architectural model (harness/model.c) against what KVM does.
 * It is not a design under test and declares no verdicts: nothing sweeps it.
 *
 * Its SYSCALL entry is Linux's (as in syscall_linux.inc, which it does not
 * share so that the probes sit inside it) with probe sequences run after the
 * user registers are saved, at CPL0 on kernel GS and the kernel stack, with
 * IF=0 (SYSCALL's FMASK clears it). Each probe point has a global label, so
 * the test finds it by symbol:
 *
 *   probe_plain           an ordinary boundary: no shadow, NMIs unblocked
 *   probe_mov_ss          mov %ss, %eax
 *   probe_mov_ss_load     mov %eax, %ss      opens a MOV SS shadow on
 *   probe_mov_ss_shadow   out %al, $IST_PORT_PROBE  (the shadowed insn)
 *   probe_mov_ss_after    the first boundary after the shadow
 *   probe_sti             sti                opens an STI shadow on
 *   probe_sti_shadow      out %al, $IST_PORT_PROBE  (the shadowed insn)
 *   probe_sti_after       nop: the first boundary after the shadow
 *   probe_sti_open        cli: IF=1, no shadow, one instruction later (on
 *                         QEMU the host completes the shadowed OUT by
 *                         moving RIP past it, so the CPU still reports the
 *                         STI shadow at probe_sti_after)
 *
 * The shadowed instruction is an OUT to a port nothing else uses, so the
 * host can stop at the boundary inside the shadow on either back end: on
 * hardware KVM (VMX/SVM fast I/O path) the OUT's exit comes *before* it
 * completes, with the shadow still reported, where a host instruction
 * breakpoint right after MOV SS need not fire; on kvm_pvm the exit comes
 * after it (the emulator completes the OUT first), but a host breakpoint
 * there does fire. The host resumes these OUTs; nothing reads the value.
 *
 * The NMI, #DB and #MC entries are plain paranoid IST entries (GS decided by
 * MSR_GS_BASE, like Linux) around the C bodies, each with a global label
 * <entry>_masked right after its pt_regs is built: a boundary inside the
 * handler, before the body runs (NMIs still blocked; for #MC, MCIP still
 * set).
 */
#include "calling.h"

/* The OUT the shadowed probes make; the host resumes it. */
#define IST_PORT_PROBE 0xe3

	STUB_INFO "test: probe sequences (MOV SS / STI shadows) for test_model; not a design under test"
	HANDLES IST_EVENT_NMI|IST_EVENT_DB|IST_EVENT_MC

	.section .entry.text, "ax"
	.globl entry_SYSCALL_64
	.type entry_SYSCALL_64, @function
entry_SYSCALL_64:
	swapgs
	movq %rsp, %gs:PERCPU_USER_RSP
	movq %gs:PERCPU_STACK_TOP, %rsp
	pushq $IST_SEL_USER_SS
	pushq %gs:PERCPU_USER_RSP
	pushq %r11			/* user RFLAGS */
	pushq $IST_SEL_USER_CS
	pushq %rcx			/* user RIP */
	pushq %rax			/* orig_ax */
	PUSH_REGS

	/* The user's registers are saved: RAX is free until POP_REGS. */
	.globl probe_plain
probe_plain:
	nop
	.globl probe_mov_ss
probe_mov_ss:
	movl %ss, %eax
	.globl probe_mov_ss_load
probe_mov_ss_load:
	movl %eax, %ss
	.globl probe_mov_ss_shadow
probe_mov_ss_shadow:
	outb %al, $IST_PORT_PROBE
	.globl probe_mov_ss_after
probe_mov_ss_after:
	nop
	.globl probe_sti
probe_sti:
	sti
	.globl probe_sti_shadow
probe_sti_shadow:
	outb %al, $IST_PORT_PROBE
	.globl probe_sti_after
probe_sti_after:
	nop
	.globl probe_sti_open
probe_sti_open:
	cli

	movq %rsp, %rdi
	call do_syscall
	POP_REGS
	addq $8, %rsp			/* orig_ax */
	movq 24(%rsp), %rsp		/* the user's RSP, from the frame */
	swapgs
	sysretq
	.size entry_SYSCALL_64, . - entry_SYSCALL_64

/* PARANOID_ENTRY name, body: an IST entry that builds pt_regs, swaps GS only
 * when MSR_GS_BASE is not already the kernel's (bit 63), calls body(regs),
 * undoes exactly what it did and returns with IRETQ. */
.macro PARANOID_ENTRY name, body
	.globl \name
	.type \name, @function
\name:
	cld
	pushq $-1			/* orig_ax */
	PUSH_REGS
	.globl \name\()_masked
\name\()_masked:
	movl $MSR_GS_BASE, %ecx
	rdmsr
	movl $1, %ebx			/* EBX = 1: GS was the kernel's */
	testl %edx, %edx
	js 1f
	swapgs
	xorl %ebx, %ebx
1:	movq %rsp, %rdi
	call \body
	testl %ebx, %ebx
	jnz 2f
	swapgs
2:	POP_REGS
	addq $8, %rsp			/* orig_ax */
	.globl \name\()_iret
\name\()_iret:
	iretq
	.size \name, . - \name
.endm

	PARANOID_ENTRY asm_exc_nmi, exc_nmi
	PARANOID_ENTRY asm_exc_debug, exc_debug
	PARANOID_ENTRY asm_exc_machine_check, exc_machine_check
