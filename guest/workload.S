/* The ring-3 workload: every GPR gets a value derived from the seed, then a
 * few system calls run with those values live, and finally an OUT to
 * IST_PORT_DONE hands the host the whole register state at once.
 *
 * Each SYSCALL (and the final OUT) is preceded by a MOV to SS. On hardware that is harmless; on
 * the software KVM back end (kvm_pvm) it is what makes the emulator execute
 * the SYSCALL, which run natively would not reach CPL0 (see
 * shared/reference/kvm-here.md). It is also the shape of the CVE-2018-8897
 * sequence later stubs need.
 */
#include "ist_abi.h"

	.section .user.text, "ax"
	.globl workload_start
workload_start:
	/* splitmix64 over the seed in RDI, 15 values into workload_regs. */
	mov %rdi, %rax
	lea workload_regs(%rip), %rsi
	mov $15, %ecx
1:	movabs $0x9e3779b97f4a7c15, %rdx
	add %rdx, %rax
	mov %rax, %rbx
	mov %rbx, %rdx
	shr $30, %rdx
	xor %rdx, %rbx
	movabs $0xbf58476d1ce4e5b9, %rdx
	imul %rdx, %rbx
	mov %rbx, %rdx
	shr $27, %rdx
	xor %rdx, %rbx
	movabs $0x94d049bb133111eb, %rdx
	imul %rdx, %rbx
	mov %rbx, %rdx
	shr $31, %rdx
	xor %rdx, %rbx
	mov %rbx, (%rsi)
	add $8, %rsi
	dec %ecx
	jnz 1b

	mov workload_regs + 0(%rip), %rax
	mov workload_regs + 8(%rip), %rbx
	mov workload_regs + 16(%rip), %rcx
	mov workload_regs + 24(%rip), %rdx
	mov workload_regs + 32(%rip), %rsi
	mov workload_regs + 40(%rip), %rdi
	mov workload_regs + 48(%rip), %rbp
	mov workload_regs + 56(%rip), %r8
	mov workload_regs + 64(%rip), %r9
	mov workload_regs + 72(%rip), %r10
	mov workload_regs + 80(%rip), %r11
	mov workload_regs + 88(%rip), %r12
	mov workload_regs + 96(%rip), %r13
	mov workload_regs + 104(%rip), %r14
	mov workload_regs + 112(%rip), %r15

	.globl workload_syscalls
workload_syscalls:
	mov $IST_SYS_MIX, %eax
	mov user_ss_value(%rip), %ss
	syscall
	xor %rax, %r15

	lea workload_store_slot(%rip), %rdi
	mov $IST_SYS_STORE, %eax
	mov user_ss_value(%rip), %ss
	syscall
	add %rax, %r14

	mov $IST_SYS_GETPID, %eax
	mov user_ss_value(%rip), %ss
	syscall
	add %rax, %r13

	/* The TSS I/O bitmap grants ring 3 this one port. The MOV to SS is
	 * for kvm_pvm again: there a native OUT at CPL3 faults instead of
	 * exiting, an emulated one checks the bitmap as hardware does. */
	mov user_ss_value(%rip), %ss
	.globl workload_done
workload_done:
	out %al, $IST_PORT_DONE
2:	jmp 2b		/* never resumed: a trial ends at the OUT */

	.section .user.data, "aw"
	.balign 16
	/* Every MOV SS of the workload reads this: a data breakpoint on it
	 * is the CVE-2018-8897 sequence (tests/test_model.c). */
	.globl user_ss_value
user_ss_value:
	.quad IST_SEL_USER_SS
	.globl workload_store_slot
workload_store_slot:
	.quad 0
workload_regs:
	.fill 15, 8, 0
	/* The user's FS and GS bases point here (kernel_main). */
	.balign 64
	.globl user_fs_area, user_gs_area
user_fs_area:
	.fill 64, 1, 0
user_gs_area:
	.fill 64, 1, 0
	.balign 4096
	.globl workload_stack
workload_stack:
	.fill 4096, 1, 0
	.globl workload_stack_top
workload_stack_top:
