/* The guest kernel's C runtime: descriptor tables, SYSCALL MSRs, the per-CPU
 * area, the event log, and the C bodies the stubs call. The stubs under test
 * (guest/stubs/) provide entry_SYSCALL_64 and asm_exc_nmi; everything here
 * is the fixed world they run in.
 *
 * Each handler body appends what it sees to the event log, a page the host
 * reads after a trial with no extra exits: the interrupted context it was
 * given, and the GS base, CR3, RSP and RFLAGS it itself runs with.
 */
#include <stddef.h>
#include <stdint.h>

#include "ist_abi.h"

void *memset(void *dst, int c, size_t n);

#define MSR_EFER	   0xc0000080
#define MSR_STAR	   0xc0000081
#define MSR_LSTAR	   0xc0000082
#define MSR_FMASK	   0xc0000084
#define MSR_FS_BASE	   0xc0000100
#define MSR_GS_BASE	   0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define EFER_SCE	   0x1

/* SYSCALL clears these in RFLAGS: TF, DF, IF, IOPL, AC, NT (as Linux). */
#define SYSCALL_FMASK 0x47700

/* The user's GS and FS bases: user pages of the workload's (positive
 * addresses, so a paranoid entry's sign test tells them from the
 * kernel's), inside its snapshotted data, so that a write through the wrong
 * GS is restored between trials and shows in the final state. */
extern char user_gs_area[], user_fs_area[];

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
	/* Ring 3 may use exactly one port, IST_PORT_DONE: a set bit denies.
	 * The extra byte of ones ends the bitmap, as the SDM requires. */
	uint8_t iomap[IST_PORT_DONE / 8 + 2];
} __attribute__((packed));

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

extern uint64_t gdt_tss[2];
extern const uint64_t vector_entries[32];
extern char entry_SYSCALL_64[], asm_exc_nmi[], asm_exc_debug[],
	asm_exc_machine_check[], asm_irq[];
extern char __user_rw_start[], __user_rw_end[];
extern void enter_user(uint64_t seed) __attribute__((noreturn));

/* Symbols the host reads by name: keep them global. */
struct ist_log ist_log __attribute__((aligned(4096)));
struct ist_stack ist_stacks[IST_STACK_COUNT] __attribute__((aligned(16))) = {
	[0 ... IST_STACK_COUNT - 1] =
		{
			.guard_lo = {[0 ... IST_GUARD_WORDS - 1] =
					     IST_GUARD_PATTERN},
			.guard_hi = {[0 ... IST_GUARD_WORDS - 1] =
					     IST_GUARD_PATTERN},
		},
};
uint8_t kernel_stack[16384] __attribute__((aligned(16)));
uint64_t percpu[PERCPU_SIZE / 8] __attribute__((aligned(64)));
uint64_t kernel_cr3;

static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[IST_VEC_IRQ + 1] __attribute__((aligned(16)));
/* The local APIC's page, when the CPU has one (setup_lapic). */
static volatile uint32_t *lapic;

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v),
			 "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | ((uint64_t)hi << 32);
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_rflags(void)
{
	uint64_t v;
	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline uint64_t read_rsp(void)
{
	uint64_t v;
	__asm__ volatile("mov %%rsp, %0" : "=r"(v));
	return v;
}

/* The compiler may emit calls to these for struct copies. */
void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

static void panic(uint64_t code) __attribute__((noreturn));
static void panic(uint64_t code)
{
	__asm__ volatile("outl %%eax, %0" ::"i"(IST_PORT_PANIC), "a"(code));
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void log_event(uint64_t vector, const struct ist_pt_regs *regs,
		      uint64_t aux0, uint64_t aux1, uint64_t aux2,
		      uint64_t aux3)
{
	uint64_t n = ist_log.count++;
	struct ist_log_entry *e;

	/* Bodies that ran this often are running without end: stop now
	 * rather than at the trial's time limit. */
	if (n >= IST_LOG_MAX)
		panic(IST_PANIC_LOG_FULL);
	e = &ist_log.entries[n];
	e->vector = vector;
	e->regs = *regs;
	e->gs_base = rdmsr(MSR_GS_BASE);
	e->kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
	e->cr3 = read_cr3();
	e->rsp = read_rsp();
	e->rflags = read_rflags();
	e->aux[0] = aux0;
	e->aux[1] = aux1;
	e->aux[2] = aux2;
	e->aux[3] = aux3;
}

/* --- handler bodies, called by the stubs with a complete pt_regs --- */

void exc_nmi(struct ist_pt_regs *regs)
{
	log_event(IST_VEC_NMI, regs, 0, 0, 0, 0);
}

/* Like Linux's exc_debug: take DR7 down first, so no breakpoint fires
 * while the handler runs, and clear DR6 for the next #DB. DR7 stays down:
 * a breakpoint the harness arms is meant to fire once. */
void exc_debug(struct ist_pt_regs *regs)
{
	uint64_t dr6, dr7;

	__asm__ volatile("mov %%dr7, %0" : "=r"(dr7));
	__asm__ volatile("mov %0, %%dr7" ::"r"(0UL));
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	__asm__ volatile("mov %0, %%dr6" ::"r"((uint64_t)IST_DR6_RESERVED));
	log_event(IST_VEC_DB, regs, dr6, dr7, 0, 0);
}

/* Like Linux's do_machine_check for a recoverable error: read the bank,
 * clear it, and clear MCG_STATUS (and so MCIP) last. Until then a second
 * #MC shuts the machine down. */
void exc_machine_check(struct ist_pt_regs *regs)
{
	uint64_t mcg = rdmsr(IST_MSR_MCG_STATUS);
	uint64_t status = rdmsr(IST_MSR_MC0_STATUS);

	log_event(IST_VEC_MC, regs, mcg, status, rdmsr(IST_MSR_MC0_ADDR),
		  rdmsr(IST_MSR_MC0_MISC));
	wrmsr(IST_MSR_MC0_STATUS, 0);
	wrmsr(IST_MSR_MCG_STATUS, 0);
}

/* The maskable interrupt: logged, and acknowledged where a local APIC
 * delivered it (KVM without an in-kernel APIC injects it directly). */
void exc_irq(struct ist_pt_regs *regs)
{
	log_event(IST_VEC_IRQ, regs, 0, 0, 0, 0);
	if (lapic)
		lapic[IST_LAPIC_EOI / 4] = 0;
}

void exception_body(struct ist_pt_regs *regs, uint64_t vector)
{
	log_event(vector, regs, regs->orig_ax, 0, 0, 0);
	panic(vector);
}

static int user_range_ok(uint64_t addr, uint64_t len)
{
	uint64_t lo = (uint64_t)__user_rw_start, hi = (uint64_t)__user_rw_end;
	return addr >= lo && addr <= hi && len <= hi - addr;
}

void do_syscall(struct ist_pt_regs *regs)
{
	uint64_t nr = regs->orig_ax;

	log_event(IST_VEC_SYSCALL, regs, nr, 0, 0, 0);
	switch (nr) {
	case IST_SYS_GETPID:
		regs->rax = 7;
		break;
	case IST_SYS_MIX:
		regs->rax = regs->rdi * 3 + (regs->rsi ^ regs->rdx) +
			    regs->r10 + regs->r8 * 5 + regs->r9;
		break;
	case IST_SYS_STORE:
		if (!user_range_ok(regs->rdi, 8)) {
			regs->rax = (uint64_t)-14; /* -EFAULT */
			break;
		}
		*(volatile uint64_t *)regs->rdi = regs->rsi;
		regs->rax = 0;
		break;
	default:
		regs->rax = (uint64_t)-38; /* -ENOSYS */
	}
}

/* --- set-up --- */

static void set_gate(int vector, const void *handler, int ist)
{
	uint64_t a = (uint64_t)handler;
	struct idt_gate *g = &idt[vector];

	g->offset_lo = (uint16_t)a;
	g->selector = IST_SEL_KERNEL_CS;
	g->ist = (uint8_t)ist;
	g->type_attr = 0x8e; /* present, DPL0, 64-bit interrupt gate */
	g->offset_mid = (uint16_t)(a >> 16);
	g->offset_hi = (uint32_t)(a >> 32);
	g->reserved = 0;
}

static void setup_tss(void)
{
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;

	for (int i = 0; i < IST_STACK_COUNT; i++)
		tss.ist[i] = (uint64_t)&ist_stacks[i].stack[IST_STACK_SIZE];
	tss.rsp[0] = (uint64_t)&kernel_stack[sizeof(kernel_stack)];
	tss.iomap_base = offsetof(struct tss64, iomap);
	memset(tss.iomap, 0xff, sizeof(tss.iomap));
	tss.iomap[IST_PORT_DONE / 8] &= (uint8_t) ~(1u << (IST_PORT_DONE % 8));

	/* 64-bit available TSS descriptor, present, DPL0. */
	gdt_tss[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		     (0x89ULL << 40) | (((limit >> 16) & 0xf) << 48) |
		     (((base >> 24) & 0xff) << 56);
	gdt_tss[1] = base >> 32;
	__asm__ volatile("ltr %w0" ::"r"(IST_SEL_TSS));
}

/* A stub's GATE_IST (calling.h), where it declares one: weak, so its
 * address is 0 where it does not. */
extern const uint8_t ist_gate_nmi __attribute__((weak));
extern const uint8_t ist_gate_debug __attribute__((weak));
extern const uint8_t ist_gate_machine_check __attribute__((weak));

static int gate_ist(const uint8_t *declared, int index)
{
	return declared ? *declared : index;
}

static void setup_idt(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {sizeof(idt) - 1, (uint64_t)idt};

	for (int v = 0; v < 32; v++)
		set_gate(v, (const void *)vector_entries[v], 0);
	set_gate(IST_VEC_IRQ, asm_irq, 0);
	set_gate(IST_VEC_DB, asm_exc_debug,
		 gate_ist(&ist_gate_debug, IST_INDEX_DB));
	set_gate(IST_VEC_NMI, asm_exc_nmi,
		 gate_ist(&ist_gate_nmi, IST_INDEX_NMI));
	set_gate(IST_VEC_DF, (const void *)vector_entries[IST_VEC_DF],
		 IST_INDEX_DF);
	set_gate(IST_VEC_MC, asm_exc_machine_check,
		 gate_ist(&ist_gate_machine_check, IST_INDEX_MC));
	__asm__ volatile("lidt %0" ::"m"(idtr));
}

static void setup_syscall(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, ((uint64_t)IST_SEL_USER32 << 48) |
				((uint64_t)IST_SEL_KERNEL_CS << 32));
	wrmsr(MSR_LSTAR, (uint64_t)entry_SYSCALL_64);
	wrmsr(MSR_FMASK, SYSCALL_FMASK);
}

/* Null FS/GS selectors first: on some CPUs loading one clears the base. */
static void setup_gs(void)
{
	__asm__ volatile("mov %0, %%fs; mov %0, %%gs" ::"r"(0));
	percpu[PERCPU_SELF / 8] = (uint64_t)percpu;
	percpu[PERCPU_STACK_TOP / 8] =
		(uint64_t)&kernel_stack[sizeof(kernel_stack)];
	wrmsr(MSR_FS_BASE, (uint64_t)user_fs_area);
	wrmsr(MSR_GS_BASE, (uint64_t)user_gs_area);
	wrmsr(MSR_KERNEL_GS_BASE, (uint64_t)percpu);
}

/* A CPU with a local APIC (QEMU's) gets it enabled, so the harness can
 * raise IST_VEC_IRQ through it, with LINT1 as NMI: with an APIC, QEMU
 * delivers the monitor's NMI through LINT1. Nothing else may interrupt:
 * LINT0 stays masked, the timer is never started. */
static void setup_lapic(void)
{
	uint32_t eax = 1, ebx, ecx = 0, edx;

	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	if (!(edx & (1u << 9)))
		return;
	lapic = (volatile uint32_t *)IST_LAPIC_VA;
	lapic[IST_LAPIC_TPR / 4] = 0;
	lapic[IST_LAPIC_LVT_LINT0 / 4] = 1u << 16; /* masked */
	lapic[IST_LAPIC_LVT_LINT1 / 4] = 4u << 8;  /* NMI, unmasked */
	lapic[IST_LAPIC_SVR / 4] = 0x100 | 0xff;   /* enabled, spurious 0xff */
}

void kernel_main(uint64_t seed)
{
	ist_log.magic = IST_LOG_MAGIC;
	ist_log.count = 0;
	kernel_cr3 = read_cr3();
	setup_tss();
	setup_idt();
	setup_lapic();
	setup_syscall();
	setup_gs();
	enter_user(seed);
}
