/* Unit test for oracle.c: hand-built observations, no KVM.
 *
 * Every case starts from one consistent fixture: a golden run (three system
 * calls, distinct final registers, a user data buffer, intact guards) and a
 * trial that is the golden run plus one NMI body whose logged frame equals
 * the vCPU state at delivery. The fixture must pass; each case then breaks
 * exactly one thing (or several, for precedence) and checks the verdict,
 * the field names and the expected/observed values the report will print.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "oracle.h"
#include "sweep.h"

#define KERNEL_GS  0xffffffff80010000ull /* percpu_va */
#define USER_GS	   0x00007f0000002000ull
#define USER_FS	   0x00007f0000001000ull
#define KERNEL_CR3 0x0000000000003000ull
#define USER_CR3   0x0000000000007000ull
#define IST_VA	   0xffffffff80020000ull /* struct ist_stack[IST_STACK_COUNT] */
#define ENTRY_RIP  0xffffffff81000040ull /* a boundary in entry text */
#define USER_RIP   0x0000000000201230ull
#define USER_RSP   0x00000000003ff000ull
#define FAULT_RIP  0xffffffff81000077ull

#define RFLAGS_CF (1ull << 0)
#define RFLAGS_ZF (1ull << 6)

#define GOLDEN_SYSCALLS 3
#define USER_WORDS	32
/* Where the injected NMI sits in the trial's log: between two system calls,
 * so the syscall comparison must skip it. */
#define NMI_SLOT 1

struct fixture {
	struct guest_layout lay;
	struct oracle_context ctx;
	struct observation golden, trial;
	struct vcpu_state delivered;
	struct expected_delivery nmi_delivery;
	struct oracle_case cse;
	uint64_t golden_data[USER_WORDS], trial_data[USER_WORDS];
	struct verdict v;
};

/* Large (two event logs): static, and reset by every case. */
static struct fixture fx;

/* --- building observations --- */

/* Distinct values per register and per state, so that a frame or a final
 * state taken from the wrong place can never compare equal by accident. */
static void fill_gprs(struct kvm_regs *r, uint64_t base)
{
	r->rax = base + 0x01;
	r->rbx = base + 0x02;
	r->rcx = base + 0x03;
	r->rdx = base + 0x04;
	r->rsi = base + 0x05;
	r->rdi = base + 0x06;
	r->rbp = base + 0x07;
	r->r8 = base + 0x08;
	r->r9 = base + 0x09;
	r->r10 = base + 0x0a;
	r->r11 = base + 0x0b;
	r->r12 = base + 0x0c;
	r->r13 = base + 0x0d;
	r->r14 = base + 0x0e;
	r->r15 = base + 0x0f;
}

static void set_segments(struct kvm_sregs *s, uint16_t cs, uint16_t ss)
{
	s->cs.selector = cs;
	s->ss.selector = ss;
	s->ds.selector = IST_SEL_USER_SS;
	s->es.selector = IST_SEL_USER_SS;
	s->fs.selector = 0;
	s->gs.selector = 0;
}

/* The frame the CPU and the stub build from a vCPU state. The CS and SS
 * slots get junk above bit 15, as a push of a selector may leave there:
 * the oracle compares the selector bits only. */
static void pt_regs_from(struct ist_pt_regs *p, const struct vcpu_state *st)
{
	const struct kvm_regs *r = &st->regs;

	memset(p, 0, sizeof(*p));
	p->rax = r->rax;
	p->rbx = r->rbx;
	p->rcx = r->rcx;
	p->rdx = r->rdx;
	p->rsi = r->rsi;
	p->rdi = r->rdi;
	p->rbp = r->rbp;
	p->r8 = r->r8;
	p->r9 = r->r9;
	p->r10 = r->r10;
	p->r11 = r->r11;
	p->r12 = r->r12;
	p->r13 = r->r13;
	p->r14 = r->r14;
	p->r15 = r->r15;
	p->orig_ax = ~0ull;
	p->rip = r->rip;
	p->rsp = r->rsp;
	p->rflags = r->rflags;
	p->cs = 0xdead0000ull | st->sregs.cs.selector;
	p->ss = 0xbeef0000ull | st->sregs.ss.selector;
}

static void log_insert(struct ist_log *log, uint64_t at,
		       const struct ist_log_entry *e)
{
	memmove(&log->entries[at + 1], &log->entries[at],
		(log->count - at) * sizeof(*e));
	log->entries[at] = *e;
	log->count++;
}

static void log_append(struct ist_log *log, const struct ist_log_entry *e)
{
	log_insert(log, log->count, e);
}

static void log_remove(struct ist_log *log, uint64_t at)
{
	log->count--;
	memmove(&log->entries[at], &log->entries[at + 1],
		(log->count - at) * sizeof(log->entries[0]));
	memset(&log->entries[log->count], 0, sizeof(log->entries[0]));
}

/* System call k as the syscall body logs it: the user's registers. */
static struct ist_log_entry syscall_entry(unsigned k)
{
	struct ist_log_entry e = {.vector = IST_VEC_SYSCALL};
	struct vcpu_state user = {0};

	fill_gprs(&user.regs, 0x1000 * (k + 1));
	user.regs.rip = USER_RIP + 0x10 * k;
	user.regs.rsp = USER_RSP - 0x40;
	user.regs.rflags = 0x202;
	set_segments(&user.sregs, IST_SEL_USER_CS, IST_SEL_USER_SS);
	pt_regs_from(&e.regs, &user);
	e.regs.orig_ax = k % IST_SYSCALL_COUNT;
	e.gs_base = KERNEL_GS;
	e.kernel_gs_base = USER_GS;
	e.cr3 = KERNEL_CR3;
	e.rsp = 0xffffffff80008f00ull;
	e.rflags = 0x2;
	e.aux[0] = e.regs.orig_ax;
	return e;
}

/* A correct NMI body: kernel GS base and CR3, on the NMI IST stack, DF=AC=0,
 * and given exactly the delivered state as its frame. */
static struct ist_log_entry nmi_entry(const struct vcpu_state *delivered)
{
	struct ist_log_entry e = {.vector = IST_VEC_NMI};

	pt_regs_from(&e.regs, delivered);
	e.gs_base = KERNEL_GS;
	e.kernel_gs_base = USER_GS;
	e.cr3 = KERNEL_CR3;
	e.rsp = fx.ctx.ist_hi[IST_INDEX_NMI] - 0x100;
	e.rflags = 0x2;
	return e;
}

static void build_golden(struct observation *g)
{
	memset(g, 0, sizeof(*g));
	g->end = RUN_DONE;
	fill_gprs(&g->final.regs, 0x5a5a000000000000ull);
	g->final.regs.rip = USER_RIP + 0x100;
	g->final.regs.rsp = USER_RSP;
	g->final.regs.rflags = 0x202;
	set_segments(&g->final.sregs, IST_SEL_USER_CS, IST_SEL_USER_SS);
	g->final.sregs.fs.base = USER_FS;
	g->final.sregs.gs.base = USER_GS;
	g->final.kernel_gs_base = KERNEL_GS;
	g->log.magic = IST_LOG_MAGIC;
	for (unsigned k = 0; k < GOLDEN_SYSCALLS; k++) {
		struct ist_log_entry e = syscall_entry(k);

		log_append(&g->log, &e);
	}
	for (int i = 0; i < IST_STACK_COUNT; i++)
		g->guard_lo_broken[i] = g->guard_hi_broken[i] = -1;
}

/* The golden run, the trial (golden + one correct NMI) and the case. */
static void fixture_reset(void)
{
	struct ist_log_entry nmi;

	memset(&fx, 0, sizeof(fx));
	fx.lay.ist_stacks_va = IST_VA;
	fx.lay.percpu_va = KERNEL_GS;
	oracle_context_init(&fx.ctx, &fx.lay, KERNEL_CR3);

	build_golden(&fx.golden);
	for (int i = 0; i < USER_WORDS; i++)
		fx.golden_data[i] = 0xda7a000000000000ull + i;
	fx.golden.user_data = (uint8_t *)fx.golden_data;
	fx.golden.user_len = sizeof(fx.golden_data);

	fx.trial = fx.golden;
	memcpy(fx.trial_data, fx.golden_data, sizeof(fx.trial_data));
	fx.trial.user_data = (uint8_t *)fx.trial_data;

	/* Delivered at a kernel boundary: none of these values occur in the
	 * final state or the syscall frames. */
	fill_gprs(&fx.delivered.regs, 0xde11000000000000ull);
	fx.delivered.regs.rip = ENTRY_RIP;
	fx.delivered.regs.rsp = 0xffffffff80008e00ull;
	fx.delivered.regs.rflags = 0x46;
	set_segments(&fx.delivered.sregs, IST_SEL_KERNEL_CS, IST_SEL_KERNEL_SS);
	fx.delivered.sregs.gs.base = KERNEL_GS;

	nmi = nmi_entry(&fx.delivered);
	log_insert(&fx.trial.log, NMI_SLOT, &nmi);

	fx.cse.golden = &fx.golden;
	fx.cse.trial = &fx.trial;
	fx.nmi_delivery.frame = &fx.delivered;
	fx.nmi_delivery.vector = IST_VEC_NMI;
	fx.nmi_delivery.event = "nmi";
	fx.nmi_delivery.ist_index = IST_INDEX_NMI;
	fx.cse.deliveries = &fx.nmi_delivery;
	fx.cse.ndeliveries = 1;
}

static struct ist_log_entry *trial_nmi(void)
{
	return &fx.trial.log.entries[NMI_SLOT];
}

/* The trial's k-th system call, stepping over the NMI. */
static struct ist_log_entry *trial_syscall(unsigned k)
{
	return &fx.trial.log.entries[k < NMI_SLOT ? k : k + 1];
}

static uint64_t *u64_at(void *base, size_t off)
{
	return (uint64_t *)((char *)base + off);
}

/* --- judging and checking --- */

static const struct verdict *judge(void)
{
	oracle_judge(&fx.ctx, &fx.cse, &fx.v);
	return &fx.v;
}

static int count_diffs_prefixed(const struct verdict *v, const char *prefix)
{
	int n = 0;

	for (int i = 0; i < v->ndiffs; i++)
		n += !strncmp(v->diffs[i].field, prefix, strlen(prefix));
	return n;
}

static void dump_verdict(const struct verdict *v)
{
	fprintf(stderr, "    verdict %s: \"%s\" (%d diffs, %d dropped)\n",
		verdict_name(v->kind), v->summary, v->ndiffs, v->dropped_diffs);
	for (int i = 0; i < v->ndiffs; i++)
		fprintf(stderr,
			"      [%s] %s: 0x%" PRIx64 " -> 0x%" PRIx64 "\n",
			verdict_name(v->diffs[i].layer), v->diffs[i].field,
			v->diffs[i].expected, v->diffs[i].observed);
}

/* Checks are reported by the line in this file's helpers; the case name
 * and the whole verdict say which case it was. */
static int case_failures;

static void case_begin(void)
{
	case_failures = check_failures;
}

static void case_end(const char *what, const struct verdict *v)
{
	if (check_failures != case_failures) {
		fprintf(stderr, "  ^ in case: %s\n", what);
		dump_verdict(v);
	}
}

static void check_has_diff(const struct verdict *v, enum verdict_kind layer,
			   const char *field, uint64_t expected,
			   uint64_t observed)
{
	const struct field_diff *d = verdict_field(v, field);

	CHECK(d != NULL);
	if (!d) {
		fprintf(stderr, "    no diff named \"%s\"\n", field);
		return;
	}
	CHECK_EQ_STR(verdict_name(d->layer), verdict_name(layer));
	CHECK_EQ_U64(d->expected, expected);
	CHECK_EQ_U64(d->observed, observed);
}

/* The verdict is `kind`, and its only diff is `field` with these values. */
static void expect_single(const char *what, enum verdict_kind kind,
			  const char *field, uint64_t expected,
			  uint64_t observed)
{
	const struct verdict *v = judge();

	case_begin();
	CHECK_EQ_STR(verdict_name(v->kind), verdict_name(kind));
	CHECK_EQ_U64(v->ndiffs, 1);
	CHECK_EQ_U64(v->dropped_diffs, 0);
	check_has_diff(v, kind, field, expected, observed);
	CHECK(strcmp(v->summary, "pass") != 0 && v->summary[0]);
	case_end(what, v);
}

static void expect_pass(const char *what)
{
	const struct verdict *v = judge();

	case_begin();
	CHECK_EQ_STR(verdict_name(v->kind), verdict_name(VERDICT_PASS));
	CHECK_EQ_U64(v->ndiffs, 0);
	CHECK_EQ_U64(v->dropped_diffs, 0);
	CHECK_EQ_U64(v->fault_rip, 0);
	CHECK_EQ_STR(v->summary, "pass");
	case_end(what, v);
}

/* --- the cases --- */

static void test_context_init(void)
{
	struct oracle_context ctx;
	size_t stride = sizeof(struct ist_stack);
	size_t first = offsetof(struct ist_stack, stack);

	fixture_reset();
	memset(&ctx, 0xff, sizeof(ctx));
	oracle_context_init(&ctx, &fx.lay, KERNEL_CR3);
	CHECK_EQ_U64(ctx.kernel_gs_base, KERNEL_GS);
	CHECK_EQ_U64(ctx.kernel_cr3, KERNEL_CR3);
	/* Slot 0 is no IST stack: an empty range nothing can be inside. */
	CHECK_EQ_U64(ctx.ist_lo[0], 0);
	CHECK_EQ_U64(ctx.ist_hi[0], 0);
	for (int i = 1; i <= IST_STACK_COUNT; i++) {
		uint64_t lo = IST_VA + (uint64_t)(i - 1) * stride + first;

		CHECK_EQ_U64(ctx.ist_lo[i], lo);
		CHECK_EQ_U64(ctx.ist_hi[i], lo + IST_STACK_SIZE);
	}
}

static void test_pass(void)
{
	fixture_reset();
	expect_pass("consistent trial");

	/* The body may sit anywhere on its stack, lowest byte included. */
	fixture_reset();
	trial_nmi()->rsp = fx.ctx.ist_lo[IST_INDEX_NMI];
	expect_pass("body rsp == lo");
	fixture_reset();
	trial_nmi()->rsp = fx.ctx.ist_hi[IST_INDEX_NMI] - 8;
	expect_pass("body rsp == hi - 8");

	/* IF, ZF, CF... in the body's own RFLAGS are none of the oracle's
	 * business; only DF and AC are. */
	fixture_reset();
	trial_nmi()->rflags = 0x2 | RFLAGS_IF | RFLAGS_ZF | RFLAGS_CF;
	expect_pass("body rflags with harmless flags");

	/* An NMI the golden run saw too (say, a stray one) is not the
	 * injected one: the body judged is the one after it. The golden
	 * run's NMI is deliberately "wrong" so judging it would fail. */
	fixture_reset();
	{
		struct ist_log_entry old = nmi_entry(&fx.delivered);

		old.gs_base = USER_GS;
		old.regs.rdx ^= 1;
		log_insert(&fx.golden.log, 0, &old);
		log_insert(&fx.trial.log, 0, &old);
	}
	expect_pass("golden run already had one NMI");
}

static const struct {
	int below, ist, word;
	const char *field, *what;
} guards[] = {
	{1, IST_INDEX_NMI, 3, "guard.nmi.below[3]", "NMI stack overflowed"},
	{1, IST_INDEX_DF, 0, "guard.df.below[0]", "#DF stack overflowed"},
	{0, IST_INDEX_MC, 7, "guard.mc.above[7]", "write above the #MC stack"},
	{0, IST_INDEX_DB, 1, "guard.db.above[1]", "write above the #DB stack"},
};

static void test_invariants(void)
{
	uint64_t lo, hi;

	fixture_reset();
	trial_nmi()->gs_base = USER_GS;
	expect_single("user GS base in the body", VERDICT_INVARIANT,
		      "nmi.gs_base", KERNEL_GS, USER_GS);

	fixture_reset();
	trial_nmi()->cr3 = USER_CR3;
	expect_single("user CR3 in the body", VERDICT_INVARIANT, "nmi.cr3",
		      KERNEL_CR3, USER_CR3);

	fixture_reset();
	lo = fx.ctx.ist_lo[IST_INDEX_NMI];
	hi = fx.ctx.ist_hi[IST_INDEX_NMI];
	trial_nmi()->rsp = lo - 8;
	expect_single("body rsp just below its IST stack", VERDICT_INVARIANT,
		      "nmi.rsp (stack [lo,hi))", lo, lo - 8);

	fixture_reset();
	trial_nmi()->rsp = hi;
	expect_single("body rsp == hi (exclusive)", VERDICT_INVARIANT,
		      "nmi.rsp (stack [lo,hi))", lo, hi);

	/* Inside an IST stack, but the wrong one. */
	fixture_reset();
	trial_nmi()->rsp = fx.ctx.ist_hi[IST_INDEX_DF] - 0x100;
	expect_single("body rsp on the #DF stack", VERDICT_INVARIANT,
		      "nmi.rsp (stack [lo,hi))", lo,
		      fx.ctx.ist_hi[IST_INDEX_DF] - 0x100);

	fixture_reset();
	trial_nmi()->rflags |= RFLAGS_DF;
	expect_single("DF=1 in the body", VERDICT_INVARIANT, "nmi.rflags.DF", 0,
		      RFLAGS_DF);

	fixture_reset();
	trial_nmi()->rflags |= RFLAGS_AC;
	expect_single("AC=1 in the body", VERDICT_INVARIANT, "nmi.rflags.AC", 0,
		      RFLAGS_AC);

	/* TF in the interrupted context, delivered that way too, so the frame
	 * itself agrees and only the invariant speaks. */
	fixture_reset();
	fx.delivered.regs.rflags |= RFLAGS_TF;
	trial_nmi()->regs.rflags |= RFLAGS_TF;
	expect_single("TF in the frame", VERDICT_INVARIANT,
		      "nmi.frame.rflags.TF", 0, RFLAGS_TF);

	/* Guard words: index IST_INDEX_x - 1 in the observation. */
	for (size_t i = 0; i < sizeof(guards) / sizeof(guards[0]); i++) {
		fixture_reset();
		if (guards[i].below)
			fx.trial.guard_lo_broken[guards[i].ist - 1] =
				guards[i].word;
		else
			fx.trial.guard_hi_broken[guards[i].ist - 1] =
				guards[i].word;
		expect_single(guards[i].what, VERDICT_INVARIANT,
			      guards[i].field, IST_GUARD_PATTERN, 0);
	}
}

struct reg_field {
	const char *name;
	size_t kvm; /* offset in struct kvm_regs */
	size_t pt;  /* offset in struct ist_pt_regs */
};

#define KVM_OFF(r) offsetof(struct kvm_regs, r)
#define PT_OFF(r)  offsetof(struct ist_pt_regs, r)
/* clang-format cannot lay out a braced initializer in a macro. */
/* clang-format off */
#define REG(r) {#r, KVM_OFF(r), PT_OFF(r)}
/* clang-format on */

/* The GPRs, then rip, rsp, rflags: everything both layouts hold. */
static const struct reg_field regs[] = {
	REG(rax), REG(rbx), REG(rcx), REG(rdx), REG(rsi), REG(rdi),
	REG(rbp), REG(r8),  REG(r9),  REG(r10), REG(r11), REG(r12),
	REG(r13), REG(r14), REG(r15), REG(rip), REG(rsp), REG(rflags),
};

#define NREGS (sizeof(regs) / sizeof(regs[0]))

static void test_frame(void)
{
	char field[40], what[80];

	/* ZF: neither TF nor anything the invariants look at. */
	for (size_t i = 0; i < NREGS; i++) {
		uint64_t *r;

		fixture_reset();
		r = u64_at(&trial_nmi()->regs, regs[i].pt);
		*r ^= RFLAGS_ZF;
		snprintf(field, sizeof(field), "nmi.frame.%s", regs[i].name);
		snprintf(what, sizeof(what), "frame %s differs", regs[i].name);
		expect_single(what, VERDICT_FRAME_MISMATCH, field,
			      *u64_at(&fx.delivered.regs, regs[i].kvm), *r);
	}

	/* CS and SS: the selector bits of the slot against the delivered
	 * selector (the junk above bit 15 is in the fixture already). */
	fixture_reset();
	trial_nmi()->regs.cs = 0xdead0000ull | IST_SEL_USER_CS;
	expect_single("frame cs differs", VERDICT_FRAME_MISMATCH,
		      "nmi.frame.cs", IST_SEL_KERNEL_CS, IST_SEL_USER_CS);

	fixture_reset();
	trial_nmi()->regs.ss = IST_SEL_USER_SS;
	expect_single("frame ss differs", VERDICT_FRAME_MISMATCH,
		      "nmi.frame.ss", IST_SEL_KERNEL_SS, IST_SEL_USER_SS);

	/* The same mismatch seen from the other side: the delivered state. */
	fixture_reset();
	fx.delivered.sregs.ss.selector = 0;
	expect_single("delivered ss differs", VERDICT_FRAME_MISMATCH,
		      "nmi.frame.ss", 0, IST_SEL_KERNEL_SS);

	/* A gate without IST (ist_index 0) has no stack range, but its body
	 * must still run on a kernel stack. */
	fixture_reset();
	fx.nmi_delivery.ist_index = 0;
	expect_pass("no IST, body on a kernel stack");
	trial_nmi()->rsp = 0x202f40;
	expect_single("no IST, body on the user's stack", VERDICT_INVARIANT,
		      "nmi.rsp (a kernel stack)", 0xffff800000000000ull,
		      0x202f40);

	/* orig_ax is the stub's, not the CPU's: never compared. */
	fixture_reset();
	trial_nmi()->regs.orig_ax = 0x1234;
	expect_pass("frame orig_ax differs");
}

/* Linux's nested NMI (NMI_REPEAT) coalesces: a second delivery with the
 * outer's frame needs no body of its own, only some NMI body starting after
 * it. fx's NMI body is the outer's; bodies_before says how many NMI bodies
 * the log held where the nested one was delivered. */
static void test_coalescing(void)
{
	struct expected_delivery two[2];

	fixture_reset();
	two[0] = two[1] = fx.nmi_delivery;
	two[1].coalesces = 1;
	two[1].bodies_before = 0;
	fx.cse.deliveries = two;
	fx.cse.ndeliveries = 2;
	expect_pass("nested NMI before the outer's body: one body serves both");

	two[1].bodies_before = 1;
	expect_single("nested NMI after the outer's body, no repeat",
		      VERDICT_LOST_EVENT, "nmi#2.bodies_after", 2, 1);

	{
		struct ist_log_entry again = *trial_nmi();

		log_append(&fx.trial.log, &again);
	}
	expect_pass("nested NMI after the outer's body, repeated");

	log_append(&fx.trial.log, trial_nmi());
	expect_single("three bodies for two NMIs", VERDICT_DOUBLE_HANDLED,
		      "nmi.bodies_run", 2, 3);

	fixture_reset();
	two[0] = two[1] = fx.nmi_delivery;
	two[1].coalesces = 1;
	fx.cse.deliveries = two;
	fx.cse.ndeliveries = 2;
	log_remove(&fx.trial.log, NMI_SLOT);
	{
		const struct verdict *v = judge();

		case_begin();
		CHECK_EQ_STR(verdict_name(v->kind),
			     verdict_name(VERDICT_LOST_EVENT));
		check_has_diff(v, VERDICT_LOST_EVENT, "nmi.bodies_run", 1, 0);
		check_has_diff(v, VERDICT_LOST_EVENT, "nmi#2.bodies_after", 1,
			       0);
		case_end("no NMI body at all for an NMI and its nested one", v);
	}

	/* A merged nested NMI (fixup-table) whose body got a shifted frame:
	 * the body left over is compared with the outer's frame. */
	fixture_reset();
	two[0] = two[1] = fx.nmi_delivery;
	two[1].coalesces = 1;
	two[1].bodies_before = 1;
	fx.cse.deliveries = two;
	fx.cse.ndeliveries = 2;
	{
		struct ist_log_entry shifted = *trial_nmi();

		shifted.regs.rip = ENTRY_RIP + 0x40;
		log_append(&fx.trial.log, &shifted);
	}
	expect_single("nested NMI's body with a wrong frame",
		      VERDICT_FRAME_MISMATCH, "nmi#2.frame.rip", ENTRY_RIP,
		      ENTRY_RIP + 0x40);
}

/* A hang after an NMI nested in an NMI: the frame at the top of the NMI
 * stack is compared with the first NMI's delivery state. Intact, nothing
 * more than the hang is said; rewound by the second NMI, every field that
 * differs is listed. One NMI alone: the top is not looked at. */
static void test_hang_shows_rewound_frame(void)
{
	struct expected_delivery two[2];
	struct vcpu_state inner;
	uint64_t *top;
	const struct verdict *v;

	fixture_reset();
	fx.trial.end = RUN_HANG;
	top = fx.trial.ist_top_frame[IST_INDEX_NMI - 1];
	top[0] = fx.delivered.regs.rip;
	top[1] = fx.delivered.sregs.cs.selector;
	top[2] = fx.delivered.regs.rflags;
	top[3] = fx.delivered.regs.rsp;
	top[4] = fx.delivered.sregs.ss.selector;
	inner = fx.delivered;
	inner.regs.rip = ENTRY_RIP + 0x40;
	two[0] = two[1] = fx.nmi_delivery;
	two[1].frame = &inner;
	fx.cse.deliveries = two;
	fx.cse.ndeliveries = 2;
	v = judge();
	case_begin();
	CHECK_EQ_STR(verdict_name(v->kind), verdict_name(VERDICT_HANG));
	CHECK_EQ_U64(count_diffs_prefixed(v, "nmi.frame_at_ist_top."), 0);
	case_end("hang, the first NMI's frame intact at the top", v);

	top[0] = inner.regs.rip;
	top[3] = fx.ctx.ist_hi[IST_INDEX_NMI] - 40;
	v = judge();
	case_begin();
	CHECK_EQ_STR(verdict_name(v->kind), verdict_name(VERDICT_HANG));
	check_has_diff(v, VERDICT_FRAME_MISMATCH, "nmi.frame_at_ist_top.rip",
		       ENTRY_RIP, ENTRY_RIP + 0x40);
	check_has_diff(v, VERDICT_FRAME_MISMATCH, "nmi.frame_at_ist_top.rsp",
		       fx.delivered.regs.rsp,
		       fx.ctx.ist_hi[IST_INDEX_NMI] - 40);
	CHECK_EQ_U64(count_diffs_prefixed(v, "nmi.frame_at_ist_top."), 2);
	case_end("hang, the NMI stack rewound by the second NMI", v);

	fx.cse.ndeliveries = 1;
	v = judge();
	case_begin();
	CHECK_EQ_STR(verdict_name(v->kind), verdict_name(VERDICT_HANG));
	CHECK_EQ_U64(count_diffs_prefixed(v, "nmi.frame_at_ist_top."), 0);
	case_end("hang after one NMI: the top is not judged", v);
}

static void test_events(void)
{
	const struct verdict *v;

	fixture_reset();
	log_remove(&fx.trial.log, NMI_SLOT);
	expect_single("no NMI body ran", VERDICT_LOST_EVENT, "nmi.bodies_run",
		      1, 0);

	fixture_reset();
	{
		struct ist_log_entry again = *trial_nmi();

		log_append(&fx.trial.log, &again);
	}
	expect_single("two NMI bodies ran", VERDICT_DOUBLE_HANDLED,
		      "nmi.bodies_run", 1, 2);

	/* A #DB handler running without end fills the log; the NMI ran once
	 * among the entries kept, so only the overflow speaks. */
	fixture_reset();
	{
		struct ist_log_entry db = *trial_nmi();

		db.vector = IST_VEC_DB;
		while (fx.trial.log.count < IST_LOG_MAX)
			log_append(&fx.trial.log, &db);
	}
	v = judge();
	case_begin();
	CHECK(verdict_field(v, "log.count") == NULL);
	CHECK(v->kind != VERDICT_DOUBLE_HANDLED);
	case_end("log exactly full, not overflowed", v);

	fx.trial.log.count = IST_LOG_MAX + 5;
	expect_single("log overflowed", VERDICT_DOUBLE_HANDLED, "log.count",
		      IST_LOG_MAX, IST_LOG_MAX + 5);

	/* An NMI body running without end: both the count and the overflow. */
	fixture_reset();
	{
		struct ist_log_entry nmi = *trial_nmi();

		while (fx.trial.log.count < IST_LOG_MAX)
			log_append(&fx.trial.log, &nmi);
		fx.trial.log.count = 1000;
	}
	v = judge();
	case_begin();
	CHECK_EQ_STR(verdict_name(v->kind),
		     verdict_name(VERDICT_DOUBLE_HANDLED));
	check_has_diff(v, VERDICT_DOUBLE_HANDLED, "log.count", IST_LOG_MAX,
		       1000);
	check_has_diff(v, VERDICT_DOUBLE_HANDLED, "nmi.bodies_run", 1,
		       IST_LOG_MAX - GOLDEN_SYSCALLS);
	case_end("NMI body recursed until the log overflowed", v);
	/* A log overflowed by #DB entries that pushed the NMI out of the kept
	 * entries: the NMI may have run after entry IST_LOG_MAX, so the
	 * verdict is the overflow, never "lost". */
	fixture_reset();
	log_remove(&fx.trial.log, NMI_SLOT);
	{
		struct ist_log_entry db = *trial_nmi();

		db.vector = IST_VEC_DB;
		while (fx.trial.log.count < IST_LOG_MAX)
			log_append(&fx.trial.log, &db);
		fx.trial.log.count = IST_LOG_MAX + 40;
	}
	expect_single("overflow hides the NMI", VERDICT_DOUBLE_HANDLED,
		      "log.count", IST_LOG_MAX, IST_LOG_MAX + 40);
}

/* A run that did not reach its end: its final state is not the workload's
 * and must not be compared, even when it differs everywhere. */
static void break_final_state(void)
{
	fx.trial.final.regs.rbx ^= 1;
	fx.trial.final.regs.rip = FAULT_RIP;
	fx.trial.final.sregs.gs.base = KERNEL_GS;
	fx.trial_data[2] ^= 1;
	log_remove(&fx.trial.log, fx.trial.log.count - 1); /* a syscall */
}

static void expect_machine(const char *what, enum verdict_kind kind,
			   uint64_t fault_rip)
{
	const struct verdict *v = judge();

	case_begin();
	CHECK_EQ_STR(verdict_name(v->kind), verdict_name(kind));
	CHECK_EQ_U64(v->fault_rip, fault_rip);
	CHECK(v->summary[0] && strcmp(v->summary, "pass") != 0);
	CHECK_EQ_U64(count_diffs_prefixed(v, "final."), 0);
	CHECK_EQ_U64(count_diffs_prefixed(v, "user_data"), 0);
	CHECK_EQ_U64(count_diffs_prefixed(v, "syscall"), 0);
	case_end(what, v);
}

static void test_machine(void)
{
	struct ist_log_entry fault = {.vector = 13};

	fault.regs.rip = FAULT_RIP;

	fixture_reset();
	fx.trial.end = RUN_SHUTDOWN;
	break_final_state();
	expect_machine("triple fault", VERDICT_SHUTDOWN, 0);
	CHECK_EQ_U64(fx.v.ndiffs, 0);

	/* The guest logs the exception, then reports its vector. */
	fixture_reset();
	fx.trial.end = RUN_PANIC;
	fx.trial.code = IST_VEC_DF;
	break_final_state();
	fault.vector = IST_VEC_DF;
	log_append(&fx.trial.log, &fault);
	expect_machine("#DF", VERDICT_DOUBLE_FAULT, FAULT_RIP);

	fixture_reset();
	fx.trial.end = RUN_PANIC;
	fx.trial.code = 13;
	break_final_state();
	fault.vector = 13;
	log_append(&fx.trial.log, &fault);
	expect_machine("#GP", VERDICT_UNEXPECTED_EXCEPTION, FAULT_RIP);
	CHECK(strstr(fx.v.summary, "13") != NULL);

	/* No entry to take the RIP from: 0, and no read out of the log. */
	fixture_reset();
	fx.trial.end = RUN_PANIC;
	fx.trial.code = 14;
	fx.trial.log.count = 0;
	expect_machine("#PF with an empty log", VERDICT_UNEXPECTED_EXCEPTION,
		       0);
	fixture_reset();
	fx.trial.end = RUN_PANIC;
	fx.trial.code = 14;
	fx.trial.log.count = IST_LOG_MAX + 1;
	expect_machine("#PF with an overflowed log",
		       VERDICT_UNEXPECTED_EXCEPTION, 0);

	fixture_reset();
	fx.trial.end = RUN_HANG;
	snprintf(fx.trial.detail, sizeof(fx.trial.detail), "HLT with IF=0");
	break_final_state();
	expect_machine("hang", VERDICT_HANG, 0);
	CHECK(strstr(fx.v.summary, "HLT with IF=0") != NULL);

	fixture_reset();
	fx.trial.end = RUN_STRAY;
	snprintf(fx.trial.detail, sizeof(fx.trial.detail),
		 "OUT to port 0x80, which the guest never uses");
	break_final_state();
	expect_machine("stray exit", VERDICT_STRAY_EXIT, 0);
	CHECK_EQ_STR(fx.v.summary,
		     "OUT to port 0x80, which the guest never uses");

	/* The same broken final state on a run that did end: compared. */
	fixture_reset();
	break_final_state();
	judge();
	CHECK_EQ_STR(verdict_name(fx.v.kind),
		     verdict_name(VERDICT_STATE_MISMATCH));
	CHECK(count_diffs_prefixed(&fx.v, "final.") > 0);
}

struct seg_field {
	const char *name;
	size_t off; /* offset of the struct kvm_segment in struct kvm_sregs */
};

/* clang-format off */
#define SEG(s) {"final." #s, offsetof(struct kvm_sregs, s)}
/* clang-format on */

static const struct seg_field segs[] = {
	SEG(cs), SEG(ss), SEG(ds), SEG(es), SEG(fs), SEG(gs),
};

static struct kvm_segment *seg_at(struct kvm_sregs *s, size_t off)
{
	return (struct kvm_segment *)((char *)s + off);
}

static void test_state(void)
{
	char field[40], what[80];

	for (size_t i = 0; i < NREGS; i++) {
		uint64_t *r;

		fixture_reset();
		r = u64_at(&fx.trial.final.regs, regs[i].kvm);
		*r ^= 0x100;
		snprintf(field, sizeof(field), "final.%s", regs[i].name);
		snprintf(what, sizeof(what), "final %s differs", regs[i].name);
		expect_single(what, VERDICT_STATE_MISMATCH, field,
			      *u64_at(&fx.golden.final.regs, regs[i].kvm), *r);
	}

	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		struct kvm_segment *s;

		fixture_reset();
		s = seg_at(&fx.trial.final.sregs, segs[i].off);
		s->selector ^= 0x3;
		expect_single(
			segs[i].name, VERDICT_STATE_MISMATCH, segs[i].name,
			seg_at(&fx.golden.final.sregs, segs[i].off)->selector,
			s->selector);
	}

	/* A missed SWAPGS leaves the bases exchanged. */
	fixture_reset();
	fx.trial.final.sregs.gs.base = KERNEL_GS;
	expect_single("final GS base", VERDICT_STATE_MISMATCH, "final.gs.base",
		      USER_GS, KERNEL_GS);

	fixture_reset();
	fx.trial.final.kernel_gs_base = USER_GS;
	expect_single("final kernel GS base", VERDICT_STATE_MISMATCH,
		      "final.kernel_gs_base", KERNEL_GS, USER_GS);

	fixture_reset();
	fx.trial.final.sregs.fs.base = 0;
	expect_single("final FS base", VERDICT_STATE_MISMATCH, "final.fs.base",
		      USER_FS, 0);

	fixture_reset();
	fx.trial_data[2] = 0x1badda7a;
	expect_single("user data word 2", VERDICT_STATE_MISMATCH,
		      "user_data+0x10", fx.golden_data[2], 0x1badda7a);

	fixture_reset();
	fx.trial_data[USER_WORDS - 1] = 0;
	expect_single("last user data word", VERDICT_STATE_MISMATCH,
		      "user_data+0xf8", fx.golden_data[USER_WORDS - 1], 0);

	/* System calls: matched by rank, skipping the NMI between them. */
	fixture_reset();
	trial_syscall(1)->regs.rdi = 0xbad;
	expect_single("syscall 1 argument", VERDICT_STATE_MISMATCH,
		      "syscall[1].rdi", fx.golden.log.entries[1].regs.rdi,
		      0xbad);

	fixture_reset();
	trial_syscall(2)->regs.orig_ax = IST_SYS_STORE + 7;
	expect_single("syscall 2 number", VERDICT_STATE_MISMATCH,
		      "syscall[2].nr", fx.golden.log.entries[2].regs.orig_ax,
		      IST_SYS_STORE + 7);

	fixture_reset();
	trial_syscall(0)->gs_base = USER_GS;
	expect_single("syscall 0 GS base", VERDICT_STATE_MISMATCH,
		      "syscall[0].gs_base", KERNEL_GS, USER_GS);

	fixture_reset();
	log_remove(&fx.trial.log, fx.trial.log.count - 1);
	expect_single("a syscall went missing", VERDICT_STATE_MISMATCH,
		      "syscalls", GOLDEN_SYSCALLS, GOLDEN_SYSCALLS - 1);

	fixture_reset();
	{
		struct ist_log_entry extra = syscall_entry(GOLDEN_SYSCALLS);

		log_append(&fx.trial.log, &extra);
	}
	expect_single("one syscall too many", VERDICT_STATE_MISMATCH,
		      "syscalls", GOLDEN_SYSCALLS, GOLDEN_SYSCALLS + 1);
}

static void expect_layers(const char *what, enum verdict_kind kind,
			  const char *summary, int ndiffs)
{
	const struct verdict *v = judge();

	case_begin();
	CHECK_EQ_STR(verdict_name(v->kind), verdict_name(kind));
	if (summary)
		CHECK_EQ_STR(v->summary, summary);
	CHECK_EQ_U64(v->ndiffs, ndiffs);
	case_end(what, v);
}

static void test_precedence(void)
{
	fixture_reset();
	trial_nmi()->gs_base = USER_GS;
	fx.trial.final.regs.rbx ^= 1;
	expect_layers("invariant + state", VERDICT_INVARIANT,
		      "the handler body ran on the wrong GS base", 2);
	check_has_diff(&fx.v, VERDICT_INVARIANT, "nmi.gs_base", KERNEL_GS,
		       USER_GS);
	check_has_diff(&fx.v, VERDICT_STATE_MISMATCH, "final.rbx",
		       fx.golden.final.regs.rbx, fx.trial.final.regs.rbx);

	fixture_reset();
	trial_nmi()->regs.rdx ^= 1;
	fx.trial_data[0] ^= 1;
	expect_layers("frame + state", VERDICT_FRAME_MISMATCH,
		      "the interrupted context the body was given is wrong", 2);
	check_has_diff(&fx.v, VERDICT_FRAME_MISMATCH, "nmi.frame.rdx",
		       fx.delivered.regs.rdx, trial_nmi()->regs.rdx);
	check_has_diff(&fx.v, VERDICT_STATE_MISMATCH, "user_data+0x0",
		       fx.golden_data[0], fx.trial_data[0]);

	/* The guards are judged after the frame: a later, more decisive
	 * layer must still take the verdict (and its summary) over. */
	fixture_reset();
	trial_nmi()->regs.rdx ^= 1;
	fx.trial.guard_lo_broken[IST_INDEX_NMI - 1] = 0;
	expect_layers("frame, then guard", VERDICT_INVARIANT,
		      "an IST stack overflowed its guard words", 2);
	check_has_diff(&fx.v, VERDICT_FRAME_MISMATCH, "nmi.frame.rdx",
		       fx.delivered.regs.rdx, trial_nmi()->regs.rdx);
	check_has_diff(&fx.v, VERDICT_INVARIANT, "guard.nmi.below[0]",
		       IST_GUARD_PATTERN, 0);

	/* Within one layer the first failure names the verdict. */
	fixture_reset();
	trial_nmi()->cr3 = USER_CR3;
	trial_nmi()->rflags |= RFLAGS_DF;
	expect_layers("two invariants", VERDICT_INVARIANT,
		      "the handler body ran on the wrong CR3", 2);

	fixture_reset();
	log_remove(&fx.trial.log, NMI_SLOT);
	fx.trial.final.regs.r15 ^= 1;
	fx.trial.guard_hi_broken[0] = 2;
	expect_layers("lost + guard + state", VERDICT_LOST_EVENT, NULL, 3);
	check_has_diff(&fx.v, VERDICT_LOST_EVENT, "nmi.bodies_run", 1, 0);
	check_has_diff(&fx.v, VERDICT_INVARIANT, "guard.df.above[2]",
		       IST_GUARD_PATTERN, 0);
	check_has_diff(&fx.v, VERDICT_STATE_MISMATCH, "final.r15",
		       fx.golden.final.regs.r15, fx.trial.final.regs.r15);

	/* Every body that ran is judged for invariants, the extra one too
	 * (named nmi#2.), while the count says it should not have run. */
	fixture_reset();
	{
		struct ist_log_entry again = *trial_nmi();

		again.gs_base = USER_GS;
		log_append(&fx.trial.log, &again);
		trial_nmi()->cr3 = USER_CR3;
	}
	expect_layers("double + invariant", VERDICT_DOUBLE_HANDLED, NULL, 3);
	check_has_diff(&fx.v, VERDICT_DOUBLE_HANDLED, "nmi.bodies_run", 1, 2);
	check_has_diff(&fx.v, VERDICT_INVARIANT, "nmi.cr3", KERNEL_CR3,
		       USER_CR3);
	check_has_diff(&fx.v, VERDICT_INVARIANT, "nmi#2.gs_base", KERNEL_GS,
		       USER_GS);

	/* machine > events > invariants; state is not judged at all. */
	fixture_reset();
	fx.trial.end = RUN_SHUTDOWN;
	log_remove(&fx.trial.log, NMI_SLOT);
	fx.trial.guard_lo_broken[IST_INDEX_NMI - 1] = 5;
	fx.trial.final.regs.rax ^= 1;
	expect_layers("shutdown + lost + guard", VERDICT_SHUTDOWN,
		      "the guest triple-faulted (KVM_EXIT_SHUTDOWN)", 2);
	check_has_diff(&fx.v, VERDICT_LOST_EVENT, "nmi.bodies_run", 1, 0);
	check_has_diff(&fx.v, VERDICT_INVARIANT, "guard.nmi.below[5]",
		       IST_GUARD_PATTERN, 0);

	fixture_reset();
	fx.trial.end = RUN_PANIC;
	fx.trial.code = IST_VEC_DF;
	trial_nmi()->rsp = 0;
	expect_layers("#DF + body off its stack", VERDICT_DOUBLE_FAULT, NULL,
		      1);
	check_has_diff(&fx.v, VERDICT_INVARIANT, "nmi.rsp (stack [lo,hi))",
		       fx.ctx.ist_lo[IST_INDEX_NMI], 0);
}

/* Breaks the final state in `n` fields: the 27 of registers, segments and
 * bases first, then user data words. */
static void break_fields(int n)
{
	int i = 0;

	for (size_t r = 0; r < NREGS && i < n; r++, i++)
		*u64_at(&fx.trial.final.regs, regs[r].kvm) ^= 1;
	for (size_t s = 0; s < sizeof(segs) / sizeof(segs[0]) && i < n;
	     s++, i++)
		seg_at(&fx.trial.final.sregs, segs[s].off)->selector ^= 1;
	if (i++ < n)
		fx.trial.final.sregs.fs.base ^= 1;
	if (i++ < n)
		fx.trial.final.sregs.gs.base ^= 1;
	if (i++ < n)
		fx.trial.final.kernel_gs_base ^= 1;
	for (int w = 0; w < USER_WORDS && i < n; w++, i++)
		fx.trial_data[w] ^= 1;
	CHECK_EQ_U64(i, n); /* the fixture holds that many fields */
}

static void test_diff_overflow(void)
{
	fixture_reset();
	break_fields(VERDICT_MAX_DIFFS);
	judge();
	CHECK_EQ_STR(verdict_name(fx.v.kind),
		     verdict_name(VERDICT_STATE_MISMATCH));
	CHECK_EQ_U64(fx.v.ndiffs, VERDICT_MAX_DIFFS);
	CHECK_EQ_U64(fx.v.dropped_diffs, 0);

	fixture_reset();
	break_fields(VERDICT_MAX_DIFFS + 11);
	judge();
	CHECK_EQ_STR(verdict_name(fx.v.kind),
		     verdict_name(VERDICT_STATE_MISMATCH));
	CHECK_EQ_U64(fx.v.ndiffs, VERDICT_MAX_DIFFS);
	CHECK_EQ_U64(fx.v.dropped_diffs, 11);
	/* The first diffs are kept, the last dropped. */
	CHECK_EQ_STR(fx.v.diffs[0].field, "final.rax");
	CHECK(verdict_field(&fx.v, "user_data+0xf8") == NULL);

	/* A decisive layer failing after the list is full still decides. */
	fixture_reset();
	break_fields(VERDICT_MAX_DIFFS + 11);
	fx.trial.end = RUN_HANG;
	trial_nmi()->gs_base = USER_GS;
	fx.trial.guard_lo_broken[0] = 1;
	for (int i = 0; i < VERDICT_MAX_DIFFS + 3; i++) {
		struct ist_log_entry nmi = *trial_nmi();

		if (fx.trial.log.count < IST_LOG_MAX)
			log_append(&fx.trial.log, &nmi);
	}
	judge();
	CHECK_EQ_STR(verdict_name(fx.v.kind), verdict_name(VERDICT_HANG));
	CHECK(fx.v.ndiffs <= VERDICT_MAX_DIFFS);
}

static void test_verdict_names(void)
{
	for (int i = 0; i < VERDICT_KIND_COUNT; i++) {
		const char *a = verdict_name((enum verdict_kind)i);

		CHECK(a != NULL);
		if (!a)
			continue;
		CHECK(a[0] != '\0');
		CHECK(strchr(a, ' ') == NULL);
		CHECK(strcmp(a, "?") != 0);
		for (int j = 0; j < i; j++) {
			const char *b = verdict_name((enum verdict_kind)j);

			if (b && !strcmp(a, b)) {
				fprintf(stderr, "kinds %d and %d both \"%s\"\n",
					j, i, a);
				CHECK(strcmp(a, b) != 0);
			}
		}
	}
	CHECK_EQ_STR(verdict_name(VERDICT_PASS), "pass");
	CHECK_EQ_STR(verdict_name(VERDICT_KIND_COUNT), "?");
	CHECK_EQ_STR(verdict_name((enum verdict_kind)(VERDICT_KIND_COUNT + 7)),
		     "?");
}

/* What each declaration accepts; an architectural shutdown meets all. */
static void test_declarations(void)
{
	static const uint64_t all[] = {0, IST_EXPECT_FAIL, IST_EXPECT_SHUTDOWN,
				       IST_EXPECT_HANG};

	CHECK(verdict_as_declared(VERDICT_PASS, 0));
	CHECK(!verdict_as_declared(VERDICT_INVARIANT, 0));
	CHECK(verdict_as_declared(VERDICT_INVARIANT, IST_EXPECT_FAIL));
	CHECK(verdict_as_declared(VERDICT_HANG, IST_EXPECT_FAIL));
	CHECK(!verdict_as_declared(VERDICT_PASS, IST_EXPECT_FAIL));
	CHECK(!verdict_as_declared(VERDICT_HARNESS_ERROR, IST_EXPECT_FAIL));
	CHECK(verdict_as_declared(VERDICT_SHUTDOWN, IST_EXPECT_SHUTDOWN));
	CHECK(!verdict_as_declared(VERDICT_HANG, IST_EXPECT_SHUTDOWN));
	CHECK(verdict_as_declared(VERDICT_HANG, IST_EXPECT_HANG));
	CHECK(!verdict_as_declared(VERDICT_PASS, IST_EXPECT_HANG));
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		CHECK(verdict_as_declared(VERDICT_ARCH_SHUTDOWN, all[i]));

	/* Each exact declaration takes its verdict and no other. */
	for (uint64_t d = IST_EXPECT_SHUTDOWN; d <= IST_EXPECT_MAX; d++) {
		int takes = 0;

		for (int k = 0; k < VERDICT_KIND_COUNT; k++) {
			if (k == VERDICT_ARCH_SHUTDOWN)
				continue;
			if (verdict_as_declared(k, d)) {
				takes++;
				CHECK_EQ_STR(verdict_name(k),
					     declaration_name(d));
			}
		}
		CHECK_EQ_U64(takes, 1);
	}
	CHECK(verdict_as_declared(VERDICT_INVARIANT, IST_EXPECT_INVARIANT));
	CHECK(!verdict_as_declared(VERDICT_FRAME_MISMATCH,
				   IST_EXPECT_INVARIANT));
	CHECK(!verdict_as_declared(VERDICT_PASS, IST_EXPECT_MAX + 1));
	CHECK_EQ_STR(declaration_name(0), "pass");
	CHECK_EQ_STR(declaration_name(IST_EXPECT_FAIL), "fail");
	CHECK_EQ_STR(declaration_name(IST_EXPECT_MAX + 1), "?");
}

int main(void)
{
	test_declarations();
	test_context_init();
	test_pass();
	test_invariants();
	test_frame();
	test_events();
	test_coalescing();
	test_hang_shows_rewound_frame();
	test_machine();
	test_state();
	test_precedence();
	test_diff_overflow();
	test_verdict_names();
	return check_summary("test_oracle");
}
