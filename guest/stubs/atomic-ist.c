/* atomic-ist's copy stage (ist-designs.md B.2, step 5): locate the chain
 * of interrupted atomic IST entries, and copy one frame per level onto the
 * main stack M. Called by each entry after save 2, on its IST stack, with
 * the user's GS possibly live: it touches only the IST stacks and M.
 * Returns the frame of the calling entry (the innermost), where its commit
 * will put RSP. */
#include "ist_abi.h"

#define AIST_FRAME 176 /* a pt_regs and 8 bytes of padding */
#define AIST_MAX   8   /* entries in one chain; more is a #DF */
#define RFLAGS_DF  (1ULL << 10)
#define RFLAGS_AC  (1ULL << 18)

extern struct ist_stack ist_stacks[IST_STACK_COUNT];
extern char aist_main_stack[], aist_main_stack_top[];
extern char commit_nmi[], commit_debug[], commit_machine_check[];
extern char entry_SYSCALL_64[], entry_SYSCALL_64_safe_stack[];

struct ist_pt_regs *aist_copy(struct ist_pt_regs *entry);

/* The IST slot whose stack holds addr (IST_INDEX_NMI, _DB, _MC), or 0. */
static int aist_stack_of(uint64_t addr)
{
	for (int i = IST_INDEX_NMI; i <= IST_INDEX_MC; i++) {
		uint64_t lo = (uint64_t)ist_stacks[i - 1].stack;
		if (addr >= lo && addr < lo + IST_STACK_SIZE)
			return i;
	}
	return 0;
}

/* Where the entry on IST slot i keeps its pt_regs, and where it commits. */
static struct ist_pt_regs *aist_regs(int i)
{
	return (struct ist_pt_regs *)(ist_stacks[i - 1].stack + IST_STACK_SIZE -
				      PTREGS_SIZE);
}

static uint64_t aist_commit(int i)
{
	return i == IST_INDEX_NMI  ? (uint64_t)commit_nmi
	       : i == IST_INDEX_DB ? (uint64_t)commit_debug
				   : (uint64_t)commit_machine_check;
}

static void aist_double_fault(void)
{
	__asm__ volatile("int $8");
}

/* Field by field: a struct copy may become a call to memcpy. */
static void copy_gprs(struct ist_pt_regs *d, const struct ist_pt_regs *s)
{
	d->r15 = s->r15, d->r14 = s->r14, d->r13 = s->r13, d->r12 = s->r12;
	d->rbp = s->rbp, d->rbx = s->rbx, d->r11 = s->r11, d->r10 = s->r10;
	d->r9 = s->r9, d->r8 = s->r8, d->rax = s->rax, d->rcx = s->rcx;
	d->rdx = s->rdx, d->rsi = s->rsi, d->rdi = s->rdi;
}

static void copy_hwframe(struct ist_pt_regs *d, const struct ist_pt_regs *s)
{
	d->orig_ax = s->orig_ax;
	d->rip = s->rip, d->cs = s->cs, d->rflags = s->rflags;
	d->rsp = s->rsp, d->ss = s->ss;
}

struct ist_pt_regs *aist_copy(struct ist_pt_regs *entry)
{
	/* chain[0] is the caller, chain[n - 1] the outermost. */
	struct ist_pt_regs *chain[AIST_MAX];
	int slot[AIST_MAX], n = 0;
	const struct ist_pt_regs *gprs = entry, *cur = entry;
	uint64_t base = (uint64_t)aist_main_stack_top;

	chain[n] = entry;
	slot[n++] = aist_stack_of((uint64_t)entry);
	/* Locate. */
	for (;;) {
		int y;

		if ((cur->cs & 3) ||
		    (cur->rip >= (uint64_t)entry_SYSCALL_64 &&
		     cur->rip < (uint64_t)entry_SYSCALL_64_safe_stack))
			break; /* user mode, or the SYSCALL gap */
		y = aist_stack_of(cur->rsp);
		if (y) {
			struct ist_pt_regs *yr = aist_regs(y);
			if (n == AIST_MAX)
				aist_double_fault();
			/* It had finished save 2 if it had pushed down to
			 * its pt_regs when interrupted. */
			if (cur->rsp <= (uint64_t)yr)
				gprs = yr;
			chain[n] = yr;
			slot[n++] = y;
			cur = yr;
			continue;
		}
		if (cur->rsp >= (uint64_t)aist_main_stack &&
		    cur->rsp < (uint64_t)aist_main_stack_top)
			base = cur->rsp & ~15ULL;
		break;
	}
	if (base - (uint64_t)AIST_FRAME * n < (uint64_t)aist_main_stack)
		aist_double_fault();

	/* Copy: the outermost frame, then one per level inward. */
	for (int k = 0; k < n; k++) {
		const struct ist_pt_regs *src = chain[n - 1 - k];
		struct ist_pt_regs *dst =
			(struct ist_pt_regs *)(base - AIST_FRAME * (k + 1));

		copy_hwframe(dst, src);
		if (k == 0) {
			copy_gprs(dst, gprs);
			continue;
		}
		/* As if the entry it interrupted had just committed. */
		dst->r15 = dst->r14 = dst->r13 = dst->r12 = 0;
		dst->rbp = dst->rbx = dst->r11 = dst->r10 = 0;
		dst->r9 = dst->r8 = dst->rcx = dst->rdx = 0;
		dst->rsi = dst->rdi = 0;
		dst->rflags &= ~(RFLAGS_AC | RFLAGS_DF);
		dst->rip = aist_commit(slot[n - k]);
		dst->rsp = dst->rax = base - AIST_FRAME * k;
	}
	return (struct ist_pt_regs *)(base - AIST_FRAME * n);
}
