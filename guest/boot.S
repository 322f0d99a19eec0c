/* Boot path and static tables of the guest kernel.
 *
 * The host enters _start directly in 64-bit mode at CPL0 with CR3 =
 * boot_pml4, CS/SS from gdt_table, RSP = boot_stack_top and RDI = the
 * workload seed; everything else (TSS, IDT, MSRs, GS bases) is set up by
 * kernel_main, which ends by entering the ring-3 workload.
 */
#include "calling.h"

	.section .text.boot, "ax"
	.globl _start
_start:
	lgdt gdt_descriptor(%rip)
	/* No breakpoint of an earlier boot fires in this one. These are also
	 * how the QEMU back end writes the debug registers, which its gdb stub
	 * cannot: it runs one of them with its value in %rax. */
	xor %eax, %eax
	mov %rax, %dr0
	mov %rax, %dr1
	mov %rax, %dr2
	mov %rax, %dr3
	mov $IST_DR6_RESERVED, %eax
	mov %rax, %dr6
	mov $0x400, %eax		/* DR7: no breakpoint enabled */
	mov %rax, %dr7
	call kernel_main
1:	hlt
	jmp 1b

/* enter_user(seed): IRETQ to the workload with IF=1, IOPL=0, RDI = seed.
 * Its final OUT to IST_PORT_DONE is allowed by the TSS I/O bitmap. */
	.text
	.globl enter_user
enter_user:
	mov $IST_SEL_USER_SS, %eax
	mov %eax, %ds
	mov %eax, %es
	pushq $IST_SEL_USER_SS
	pushq $workload_stack_top
	pushq $0x202
	pushq $IST_SEL_USER_CS
	pushq $workload_start
	xor %eax, %eax
	iretq

/* The store by which the QEMU back end makes the guest send itself
 * IST_VEC_IRQ: run alone, at CPL0 with IF=0, RDX = the local APIC's ICR and
 * EAX the command (harness/qemu.c). Nothing calls it. */
	.globl lapic_write_gadget
lapic_write_gadget:
	movl %eax, (%rdx)
	ud2

	.data
	.balign 16
	.globl gdt_table
gdt_table:
	.quad 0
	.quad 0x00af9b000000ffff	/* 0x08 kernel CS, 64-bit */
	.quad 0x00cf93000000ffff	/* 0x10 kernel SS */
	.quad 0x00cffb000000ffff	/* 0x18 user CS32: SYSRET's base only */
	.quad 0x00cff3000000ffff	/* 0x20 user SS/DS */
	.quad 0x00affb000000ffff	/* 0x28 user CS, 64-bit */
	.globl gdt_tss
gdt_tss:
	.quad 0, 0			/* 0x30 TSS, filled in by kernel_main */
gdt_end:

gdt_descriptor:
	.word gdt_end - gdt_table - 1
	.quad gdt_table

/* Page tables. Accessed and Dirty are preset so the page walker never writes
 * to them: a trial's dirtied pages are then only what the guest wrote. */
#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_U 0x4
#define PTE_A 0x20
#define PTE_D 0x40
#define PTE_PS 0x80
#define PTE_PWT 0x8
#define PTE_PCD 0x10
#define PHYS(x) ((x) - IST_KERNEL_VMA)

	.section .data.pagetables, "aw"
	.balign 4096
	.globl boot_pml4
boot_pml4:
	.quad PHYS(pdpt_user) + PTE_P + PTE_W + PTE_U + PTE_A
	.fill 510, 8, 0
	.quad PHYS(pdpt_kernel) + PTE_P + PTE_W + PTE_A
pdpt_user:
	.quad PHYS(pd_user) + PTE_P + PTE_W + PTE_U + PTE_A
	.fill 2, 8, 0
	.quad PHYS(pd_lapic) + PTE_P + PTE_W + PTE_A	/* 3-4 GiB */
	.fill 508, 8, 0
pdpt_kernel:
	.fill 510, 8, 0
	.quad PHYS(pd_kernel) + PTE_P + PTE_W + PTE_A
	.quad 0
pd_user:
	.quad 0		/* 0-2 MiB unmapped: a NULL dereference faults */
	.quad IST_USER_BASE + PTE_P + PTE_W + PTE_U + PTE_A + PTE_D + PTE_PS
	.fill 510, 8, 0
pd_kernel:
	.quad 0 + PTE_P + PTE_W + PTE_A + PTE_D + PTE_PS
	.fill 511, 8, 0
pd_lapic:			/* IST_LAPIC_VA, kernel only, uncached */
	.fill (IST_LAPIC_VA >> 21) & 511, 8, 0
	.quad IST_LAPIC_VA + PTE_P + PTE_W + PTE_A + PTE_D + PTE_PS + PTE_PWT + PTE_PCD
	.fill 511 - ((IST_LAPIC_VA >> 21) & 511), 8, 0

	.bss
	.balign 16
	.globl boot_stack_top
boot_stack:
	.skip 8192
boot_stack_top:
