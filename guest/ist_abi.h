/* The one header the guest shares with the host: memory layout, I/O ports,
 * the event log, the pt_regs layout and the expectations a stub declares.
 * Included from C on both sides and from the guest's assembly.
 */
#ifndef IST_ABI_H
#define IST_ABI_H

/* Kernel text and data live in the higher half, as in Linux, so a paranoid
 * entry can tell the kernel's GS base from the user's by its sign bit. */
#define IST_KERNEL_VMA	   0xffffffff80000000
#define IST_KERNEL_PHYS	   0x100000
#define IST_USER_BASE	   0x200000 /* identity-mapped 2 MiB user page */
#define IST_GUEST_MEM_SIZE 0x400000

/* Segment selectors. STAR's SYSRET base is IST_SEL_USER32 so that SYSRET
 * lands on IST_SEL_USER_CS / IST_SEL_USER_SS. */
#define IST_SEL_KERNEL_CS 0x08
#define IST_SEL_KERNEL_SS 0x10
#define IST_SEL_USER32	  0x18
#define IST_SEL_USER_SS	  0x23
#define IST_SEL_USER_CS	  0x2b
#define IST_SEL_TSS	  0x30

/* TSS IST slots (1-based, as in the gate descriptor), Linux's numbering. */
#define IST_INDEX_DF	  1
#define IST_INDEX_NMI	  2
#define IST_INDEX_DB	  3
#define IST_INDEX_MC	  4
#define IST_STACK_COUNT	  4
#define IST_STACK_SIZE	  4096 /* usable bytes between the guard blocks */
#define IST_GUARD_WORDS	  8
#define IST_GUARD_PATTERN 0x6775617264575244 /* "DRWdraug" */

/* Ports the guest writes to; each write is one exit the host reads. */
#define IST_PORT_DONE  0xe1 /* ring-3 workload finished; registers are final */
#define IST_PORT_PANIC 0xe2 /* kernel gave up; the last log entry says why */

/* What the guest reports on IST_PORT_PANIC besides an exception vector:
 * handler bodies ran until the event log was full (a runaway loop, which
 * would otherwise only end at the trial's time limit). */
#define IST_PANIC_LOG_FULL 0x100

/* Workload syscalls. */
#define IST_SYS_GETPID	  0
#define IST_SYS_MIX	  1
#define IST_SYS_STORE	  2
#define IST_SYSCALL_COUNT 3

/* Vectors the log records. Vector IST_VEC_SYSCALL marks a syscall body. */
#define IST_VEC_DB	1
#define IST_VEC_NMI	2
#define IST_VEC_DF	8
#define IST_VEC_MC	18
#define IST_VEC_IRQ	0x20 /* the one maskable interrupt (issue 4) */
#define IST_VEC_SYSCALL 0x80

/* The local APIC, where the CPU has one (CPUID.1:EDX.APIC): identity
 * mapped, uncached, kernel only. The harness raises IST_VEC_IRQ on a back
 * end without an interrupt-injection interface (QEMU) by making the guest
 * send it to itself: a store to the ICR by lapic_write_gadget (boot.S). */
#define IST_LAPIC_VA	   0xfee00000
#define IST_LAPIC_ICR_LO   0x300
#define IST_LAPIC_EOI	   0xb0
#define IST_LAPIC_SVR	   0xf0
#define IST_LAPIC_TPR	   0x80
#define IST_LAPIC_LVT_LINT0 0x350
#define IST_LAPIC_LVT_LINT1 0x360

/* pt_regs, in Linux's order: push order after orig_ax is rdi, rsi, rdx, rcx,
 * rax, r8-r11, rbx, rbp, r12-r15, so r15 sits at the lowest address. */
#define PTREGS_R15     0
#define PTREGS_R14     8
#define PTREGS_R13     16
#define PTREGS_R12     24
#define PTREGS_RBP     32
#define PTREGS_RBX     40
#define PTREGS_R11     48
#define PTREGS_R10     56
#define PTREGS_R9      64
#define PTREGS_R8      72
#define PTREGS_RAX     80
#define PTREGS_RCX     88
#define PTREGS_RDX     96
#define PTREGS_RSI     104
#define PTREGS_RDI     112
#define PTREGS_ORIG_AX 120
#define PTREGS_RIP     128
#define PTREGS_CS      136
#define PTREGS_RFLAGS  144
#define PTREGS_RSP     152
#define PTREGS_SS      160
#define PTREGS_SIZE    168

/* Per-CPU area at the kernel GS base. */
#define PERCPU_SELF	 0  /* its own address */
#define PERCPU_USER_RSP	 8  /* the user's RSP, saved by the syscall entry */
#define PERCPU_STACK_TOP 16 /* top of the kernel (task) stack */
#define PERCPU_SIZE	 64

/* What a stub declares it must get, per range of its entry text. Every
 * boundary outside every declared range must pass. FAIL takes any failing
 * verdict; each of the others takes that verdict exactly. */
#define IST_EXPECT_FAIL			1
#define IST_EXPECT_SHUTDOWN		2
#define IST_EXPECT_HANG			3
#define IST_EXPECT_INVARIANT		4
#define IST_EXPECT_FRAME_MISMATCH	5
#define IST_EXPECT_STATE_MISMATCH	6
#define IST_EXPECT_LOST_EVENT		7
#define IST_EXPECT_DOUBLE_HANDLED	8
#define IST_EXPECT_DOUBLE_FAULT		9
#define IST_EXPECT_UNEXPECTED_EXCEPTION 10
#define IST_EXPECT_MAX			10

/* Event kinds in HANDLES and ASSUME declarations (bit = 1 << kind). */
#define IST_EVENT_NMI 0x1
#define IST_EVENT_DB  0x2
#define IST_EVENT_MC  0x4
#define IST_EVENT_IRQ 0x8 /* the maskable interrupt IST_VEC_IRQ */
/* ASSUME only: a #DB from an instruction breakpoint, not every #DB. A
 * kernel that never puts one on its entry text (Linux refuses hardware
 * breakpoints and kprobes there) still meets data breakpoints, which a
 * user can set on its own memory. */
#define IST_EVENT_DB_INSN 0x100
/* KNOWN_HOLE: set in an assumption's events when it is no guarantee of the
 * environment but a race the design knowingly leaves open (Linux's NMI
 * prologue): its failures are still reported apart, and are what a fuzzer
 * should find. */
#define IST_ASSUME_HOLE 0x8000
/* Frame rules a stub declares (RULES): how its design answers a nested
 * event, when that differs from "each body sees where its event struck".
 * NMI_REPEAT: Linux's nested NMI runs no body; the outer NMI runs its body
 * again with the outer's interrupted context. */
#define IST_RULE_NMI_REPEAT 0x1
/* The atomic IST entry (ist-designs.md B.6): an event delivered while an
 * entry of the stub is in flight (delivered, its commit label not yet
 * reached) sees that entry parked at its commit label: RIP = the label,
 * RSP = RAX = the entry's frame on the main stack (BODY_STACK), the other
 * GPRs 0, RFLAGS its own without AC and DF. Commit labels: COMMIT. */
#define IST_RULE_COMMIT 0x2
#define IST_ASSUME_TEXT 104

/* MSRs and registers the #MC and #DB bodies read. */
#define IST_MSR_MCG_STATUS  0x17a
#define IST_MSR_MC0_STATUS  0x401
#define IST_MSR_MC0_ADDR    0x402
#define IST_MSR_MC0_MISC    0x403
#define IST_MCG_STATUS_RIPV 0x1
#define IST_MCG_STATUS_EIPV 0x2
#define IST_MCG_STATUS_MCIP 0x4
#define IST_DR6_RESERVED    0xffff0ff0

#define IST_LOG_MAX   64
#define IST_LOG_MAGIC 0x474f4c5453494b56 /* "VKISTLOG" */

#ifndef __ASSEMBLER__

#include <stdint.h>

struct ist_pt_regs {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi, orig_ax;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* One handler body's view of the world, appended by the body itself. */
struct ist_log_entry {
	uint64_t vector;
	struct ist_pt_regs regs; /* the interrupted context it was given */
	uint64_t gs_base;	 /* MSR_GS_BASE while the body runs */
	uint64_t kernel_gs_base; /* MSR_KERNEL_GS_BASE while the body runs */
	uint64_t cr3;
	uint64_t rsp;	 /* the body's own stack pointer */
	uint64_t rflags; /* the body's own RFLAGS (DF, AC) */
	/* Per vector: syscall: nr; exception: error code; #DB: DR6 and DR7
	 * as the body found them; #MC: MCG_STATUS, MC0_STATUS, MC0_ADDR,
	 * MC0_MISC as the body found them. */
	uint64_t aux[4];
};

struct ist_log {
	uint64_t magic;
	uint64_t count; /* entries written; may exceed IST_LOG_MAX */
	struct ist_log_entry entries[IST_LOG_MAX];
};

struct ist_expect {
	uint64_t from, to, what;
};

/* COMMIT: the commit label of the entries for `events`. */
struct ist_commit {
	uint64_t events, label;
};

/* FIXUP_TABLE: the table at `table` has one byte per byte of [from, to). */
struct ist_fixup {
	uint64_t from, to, table;
};

/* The design assumes no event in `events` arrives at a boundary in
 * [from, to); `text` says why (one line). */
struct ist_assume {
	uint64_t events, from, to;
	char text[IST_ASSUME_TEXT];
};

struct ist_stack {
	uint64_t guard_lo[IST_GUARD_WORDS];
	uint8_t stack[IST_STACK_SIZE];
	uint64_t guard_hi[IST_GUARD_WORDS];
};

#endif
#endif
