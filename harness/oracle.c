/* The oracle's layers; see oracle.h for what each one holds. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "oracle.h"

const char *verdict_name(enum verdict_kind kind)
{
	static const char *const names[VERDICT_KIND_COUNT] = {
		[VERDICT_PASS] = "pass",
		[VERDICT_SHUTDOWN] = "shutdown",
		[VERDICT_DOUBLE_FAULT] = "double-fault",
		[VERDICT_UNEXPECTED_EXCEPTION] = "unexpected-exception",
		[VERDICT_HANG] = "hang",
		[VERDICT_STRAY_EXIT] = "stray-exit",
		[VERDICT_LOST_EVENT] = "lost-event",
		[VERDICT_DOUBLE_HANDLED] = "double-handled",
		[VERDICT_INVARIANT] = "invariant",
		[VERDICT_FRAME_MISMATCH] = "frame-mismatch",
		[VERDICT_STATE_MISMATCH] = "state-mismatch",
		[VERDICT_ARCH_SHUTDOWN] = "architectural-shutdown",
		[VERDICT_OUTSIDE_ASSUMPTIONS] = "outside-assumptions",
		[VERDICT_HARNESS_ERROR] = "harness-error",
	};
	return kind < VERDICT_KIND_COUNT ? names[kind] : "?";
}

void oracle_context_init(struct oracle_context *ctx,
			 const struct guest_layout *lay, uint64_t kernel_cr3)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->kernel_gs_base = lay->percpu_va;
	ctx->kernel_cr3 = kernel_cr3;
	for (int i = 1; i <= IST_STACK_COUNT; i++)
		guest_ist_stack_range(lay, i, &ctx->ist_lo[i], &ctx->ist_hi[i]);
	ctx->body_lo = lay->body_stack[0];
	ctx->body_hi = lay->body_stack[1];
	for (int i = 0; i < lay->nuser_scratch && i < 4; i++) {
		ctx->scratch_lo[i] =
			lay->user_scratch[i].from - lay->user_rw_va;
		ctx->scratch_hi[i] = lay->user_scratch[i].to - lay->user_rw_va;
		ctx->nscratch++;
	}
}

static int in_scratch(const struct oracle_context *ctx, uint64_t off)
{
	for (int i = 0; i < ctx->nscratch; i++)
		if (off >= ctx->scratch_lo[i] && off < ctx->scratch_hi[i])
			return 1;
	return 0;
}

const struct field_diff *verdict_field(const struct verdict *v,
				       const char *field)
{
	for (int i = 0; i < v->ndiffs; i++)
		if (!strcmp(v->diffs[i].field, field))
			return &v->diffs[i];
	return NULL;
}

/* The lowest address of the kernel's half: a stack below it is the user's. */
#define KERNEL_HALF 0xffff800000000000ULL

/* A failing layer: the verdict keeps the first (most decisive) one. */
static void fail_layer(struct verdict *v, enum verdict_kind layer,
		       const char *fmt, ...)
{
	va_list ap;

	if (v->kind != VERDICT_PASS && v->kind <= layer)
		return;
	v->kind = layer;
	va_start(ap, fmt);
	vsnprintf(v->summary, sizeof(v->summary), fmt, ap);
	va_end(ap);
}

static void diff(struct verdict *v, enum verdict_kind layer, uint64_t expected,
		 uint64_t observed, const char *fmt, ...)
{
	struct field_diff *d;
	va_list ap;

	if (v->ndiffs == VERDICT_MAX_DIFFS) {
		v->dropped_diffs++;
		return;
	}
	d = &v->diffs[v->ndiffs++];
	d->layer = layer;
	d->expected = expected;
	d->observed = observed;
	va_start(ap, fmt);
	vsnprintf(d->field, sizeof(d->field), fmt, ap);
	va_end(ap);
}

/* Compares one field; on a difference records it and fails the layer. */
static int expect_eq(struct verdict *v, enum verdict_kind layer,
		     uint64_t expected, uint64_t observed, const char *what,
		     const char *prefix, const char *field)
{
	if (expected == observed)
		return 0;
	diff(v, layer, expected, observed, "%s%s", prefix, field);
	fail_layer(v, layer, "%s", what);
	return 1;
}

#define GPR_LIST(X)                                                            \
	X(rax)                                                                 \
	X(rbx)                                                                 \
	X(rcx)                                                                 \
	X(rdx)                                                                 \
	X(rsi)                                                                 \
	X(rdi) X(rbp) X(r8) X(r9) X(r10) X(r11) X(r12) X(r13) X(r14) X(r15)

static void judge_machine(const struct oracle_case *c, struct verdict *v)
{
	const struct observation *t = c->trial;
	const struct ist_log *log = &t->log;

	switch (t->end) {
	case RUN_DONE:
		break;
	case RUN_SHUTDOWN:
		fail_layer(v, VERDICT_SHUTDOWN,
			   "the guest triple-faulted (KVM_EXIT_SHUTDOWN)");
		break;
	case RUN_PANIC: {
		uint64_t n = log->count;
		const struct ist_log_entry *e =
			n && n <= IST_LOG_MAX ? &log->entries[n - 1] : NULL;
		/* A full log is judged by the event layer (double-handled). */
		if (t->code == IST_PANIC_LOG_FULL)
			break;
		if (e)
			v->fault_rip = e->regs.rip;
		if (t->code == IST_VEC_DF)
			fail_layer(v, VERDICT_DOUBLE_FAULT,
				   "double fault (#DF) in the guest kernel");
		else
			fail_layer(v, VERDICT_UNEXPECTED_EXCEPTION,
				   "exception vector %llu in the guest kernel",
				   (unsigned long long)t->code);
		break;
	}
	case RUN_HANG:
		fail_layer(v, VERDICT_HANG, "the guest hung: %s", t->detail);
		v->fault_rip = t->loop_rip; /* the report names it */
		break;
	case RUN_STRAY:
		fail_layer(v, VERDICT_STRAY_EXIT, "%s", t->detail);
		break;
	}
}

static unsigned count_vector(const struct ist_log *log, uint64_t vector)
{
	unsigned n = 0;
	uint64_t max = log->count < IST_LOG_MAX ? log->count : IST_LOG_MAX;

	for (uint64_t i = 0; i < max; i++)
		n += log->entries[i].vector == vector;
	return n;
}

static const struct ist_log_entry *first_of(const struct ist_log *log,
					    uint64_t vector, uint64_t skip)
{
	uint64_t max = log->count < IST_LOG_MAX ? log->count : IST_LOG_MAX;

	for (uint64_t i = 0; i < max; i++)
		if (log->entries[i].vector == vector && skip-- == 0)
			return &log->entries[i];
	return NULL;
}

/* Body count for one vector: every delivery ran its body exactly once; a
 * coalescing one (Linux's nested NMI) may have had its body run by another
 * delivery, but some body started after it. */
static void judge_count(const struct oracle_case *c, uint64_t vector,
			const char *event, const struct expected_delivery **ds,
			unsigned delivered, struct verdict *v)
{
	unsigned golden = count_vector(&c->golden->log, vector);
	unsigned seen = count_vector(&c->trial->log, vector);
	unsigned expected = golden + delivered, at_least = expected;

	for (unsigned d = 0; d < delivered; d++) {
		if (!ds[d]->coalesces)
			continue;
		at_least--;
		if (seen < ds[d]->bodies_before + 1 &&
		    c->trial->log.count <= IST_LOG_MAX) {
			diff(v, VERDICT_LOST_EVENT, ds[d]->bodies_before + 1,
			     seen, "%s#%u.bodies_after", event, d + 1);
			fail_layer(v, VERDICT_LOST_EVENT,
				   "no %s body started after a nested %s",
				   event, event);
		}
	}
	/* Only IST_LOG_MAX entries were kept: a body missing from them may
	 * have run later, so "lost" cannot be told (judge_overflow says it). */
	if (seen < at_least && c->trial->log.count <= IST_LOG_MAX) {
		diff(v, VERDICT_LOST_EVENT, at_least, seen, "%s.bodies_run",
		     event);
		fail_layer(v, VERDICT_LOST_EVENT,
			   "the %s was delivered but its body never ran",
			   event);
	} else if (seen > expected) {
		diff(v, VERDICT_DOUBLE_HANDLED, expected, seen, "%s.bodies_run",
		     event);
		fail_layer(v, VERDICT_DOUBLE_HANDLED,
			   "the %s body ran %u times for %u deliveries", event,
			   seen - (expected - delivered), delivered);
	}
}

static void judge_overflow(const struct oracle_case *c, struct verdict *v)
{
	if (c->trial->log.count <= IST_LOG_MAX)
		return;
	diff(v, VERDICT_DOUBLE_HANDLED, IST_LOG_MAX, c->trial->log.count,
	     "log.count");
	fail_layer(v, VERDICT_DOUBLE_HANDLED,
		   "the event log overflowed: handlers ran without end");
}

/* Inside a body: what every IST handler body may rely on. */
static void judge_invariants(const struct oracle_context *ctx,
			     const struct expected_delivery *d,
			     const struct ist_log_entry *e, const char *p,
			     struct verdict *v)
{
	enum verdict_kind L = VERDICT_INVARIANT;
	int own = ctx->body_hi > ctx->body_lo;
	uint64_t lo = own ? ctx->body_lo : ctx->ist_lo[d->ist_index];
	uint64_t hi = own ? ctx->body_hi : ctx->ist_hi[d->ist_index];

	expect_eq(v, L, ctx->kernel_gs_base, e->gs_base,
		  "the handler body ran on the wrong GS base", p, "gs_base");
	expect_eq(v, L, ctx->kernel_cr3, e->cr3,
		  "the handler body ran on the wrong CR3", p, "cr3");
	/* IST index 0 would be an event on the current stack: no range. */
	if ((own || d->ist_index) && (e->rsp < lo || e->rsp >= hi)) {
		diff(v, L, lo, e->rsp, "%srsp (stack [lo,hi))", p);
		fail_layer(v, L,
			   own ? "the handler body is not on the stack the "
				 "stub declares (BODY_STACK)"
			       : "the handler body is not on its IST stack");
	} else if (!own && !d->ist_index && e->rsp < KERNEL_HALF) {
		/* A gate without IST runs on the interrupted stack: at CPL0
		 * with the user's RSP (the SYSCALL gap), that is the user's. */
		diff(v, L, KERNEL_HALF, e->rsp, "%srsp (a kernel stack)", p);
		fail_layer(v, L,
			   "the handler body ran on a stack the user "
			   "controls");
	}
	expect_eq(v, L, 0, e->rflags & RFLAGS_DF,
		  "the handler body ran with DF=1", p, "rflags.DF");
	expect_eq(v, L, 0, e->rflags & RFLAGS_AC,
		  "the handler body ran with AC=1", p, "rflags.AC");
	/* The workload and the stubs never set TF, and the harness must not
	 * either: a TF here is a leak from the stepping machinery. */
	expect_eq(v, L, 0, e->regs.rflags & RFLAGS_TF,
		  "TF leaked into the interrupted context", p,
		  "frame.rflags.TF");
}

static int frame_equal(const struct vcpu_state *f,
		       const struct ist_log_entry *e)
{
#define SAME_GPR(r) f->regs.r == e->regs.r &&
	return GPR_LIST(SAME_GPR) f->regs.rip == e->regs.rip &&
	       f->regs.rsp == e->regs.rsp && f->regs.rflags == e->regs.rflags &&
	       f->sregs.cs.selector == (e->regs.cs & 0xffff) &&
	       f->sregs.ss.selector == (e->regs.ss & 0xffff);
#undef SAME_GPR
}

/* The interrupted context a body was given, field by field. */
static void judge_frame(const struct vcpu_state *f,
			const struct ist_log_entry *e, const char *prefix,
			struct verdict *v)
{
	const char *what = "the interrupted context the body was given is "
			   "wrong";
	enum verdict_kind L = VERDICT_FRAME_MISMATCH;
	char p[32];

	snprintf(p, sizeof(p), "%sframe.", prefix);
#define FRAME_GPR(r) expect_eq(v, L, f->regs.r, e->regs.r, what, p, #r);
	GPR_LIST(FRAME_GPR)
#undef FRAME_GPR
	expect_eq(v, L, f->regs.rip, e->regs.rip, what, p, "rip");
	expect_eq(v, L, f->regs.rsp, e->regs.rsp, what, p, "rsp");
	expect_eq(v, L, f->regs.rflags, e->regs.rflags, what, p, "rflags");
	expect_eq(v, L, f->sregs.cs.selector, e->regs.cs & 0xffff, what, p,
		  "cs");
	expect_eq(v, L, f->sregs.ss.selector, e->regs.ss & 0xffff, what, p,
		  "ss");
}

/* All deliveries of one vector against the bodies the trial logged for it
 * (beyond the golden run's). Bodies run in no fixed order (an inner event's
 * body may finish first), so each delivery is matched to the body whose
 * frame equals its own; one left without a match is compared, field by
 * field, with the first body left over. */
static void judge_vector(const struct oracle_context *ctx,
			 const struct oracle_case *c, uint64_t vector,
			 struct verdict *v)
{
	const struct ist_log_entry *bodies[ORACLE_MAX_DELIVERIES];
	const struct expected_delivery *ds[ORACLE_MAX_DELIVERIES];
	int used[ORACLE_MAX_DELIVERIES] = {0}, matched[ORACLE_MAX_DELIVERIES];
	unsigned skip = count_vector(&c->golden->log, vector);
	int nd = 0, nb = 0;
	char p[24];

	for (int i = 0; i < c->ndeliveries && nd < ORACLE_MAX_DELIVERIES; i++)
		if (c->deliveries[i].vector == vector)
			ds[nd++] = &c->deliveries[i];
	if (nd == 0)
		return;
	judge_count(c, vector, ds[0]->event, ds, (unsigned)nd, v);
	while (nb < ORACLE_MAX_DELIVERIES &&
	       (bodies[nb] = first_of(&c->trial->log, vector, skip + nb)))
		nb++;

	for (int b = 0; b < nb; b++) {
		if (b)
			snprintf(p, sizeof(p), "%s#%d.", ds[0]->event, b + 1);
		else
			snprintf(p, sizeof(p), "%s.", ds[0]->event);
		judge_invariants(ctx, ds[0], bodies[b], p, v);
	}
	for (int d = 0; d < nd; d++) {
		matched[d] = 0;
		for (int b = 0; b < nb && !matched[d]; b++)
			if (!used[b] && frame_equal(ds[d]->frame, bodies[b]))
				used[b] = matched[d] = 1;
	}
	/* A coalescing delivery may have no body; a body left over is still
	 * compared with the frame it should have shown. */
	for (int d = 0; d < nd; d++) {
		if (matched[d])
			continue;
		for (int b = 0; b < nb; b++) {
			if (used[b])
				continue;
			used[b] = 1;
			if (d)
				snprintf(p, sizeof(p), "%s#%d.", ds[d]->event,
					 d + 1);
			else
				snprintf(p, sizeof(p), "%s.", ds[d]->event);
			judge_frame(ds[d]->frame, bodies[b], p, v);
			break;
		}
	}
}

static int judged_before(const struct oracle_case *c, int i)
{
	for (int j = 0; j < i; j++)
		if (c->deliveries[j].vector == c->deliveries[i].vector)
			return 1;
	return 0;
}

/* After a hang, the frame at the top of an IST stack whose vector was
 * delivered again while its first delivery was being handled: where the
 * CPU pushed the first event's frame, and what an IRET there returns to
 * now. A rewound stack shows the inner event's frame in its place, which
 * is usually why the guest loops. */
static void judge_rewound_frames(const struct oracle_case *c, struct verdict *v)
{
	const char *what = "the guest hung";
	enum verdict_kind L = VERDICT_FRAME_MISMATCH;

	for (int i = 0; i < c->ndeliveries; i++) {
		const struct expected_delivery *d = &c->deliveries[i];
		const struct vcpu_state *f = d->frame;
		const uint64_t *top;
		int again = 0;
		char p[40];

		if (judged_before(c, i) || d->ist_index < 1 ||
		    d->ist_index > IST_STACK_COUNT)
			continue;
		for (int j = i + 1; j < c->ndeliveries; j++)
			again |= c->deliveries[j].vector == d->vector;
		if (!again)
			continue;
		top = c->trial->ist_top_frame[d->ist_index - 1];
		snprintf(p, sizeof(p), "%s.frame_at_ist_top.", d->event);
		expect_eq(v, L, f->regs.rip, top[0], what, p, "rip");
		expect_eq(v, L, f->sregs.cs.selector, top[1] & 0xffff, what, p,
			  "cs");
		expect_eq(v, L, f->regs.rflags, top[2], what, p, "rflags");
		expect_eq(v, L, f->regs.rsp, top[3], what, p, "rsp");
		expect_eq(v, L, f->sregs.ss.selector, top[4] & 0xffff, what, p,
			  "ss");
	}
}

static void judge_guards(const struct observation *t, struct verdict *v)
{
	static const char *const stack_names[IST_STACK_COUNT + 1] = {
		"", "df", "nmi", "db", "mc"};

	for (int i = 0; i < IST_STACK_COUNT; i++) {
		if (t->guard_lo_broken[i] >= 0) {
			diff(v, VERDICT_INVARIANT, IST_GUARD_PATTERN, 0,
			     "guard.%s.below[%d]", stack_names[i + 1],
			     t->guard_lo_broken[i]);
			fail_layer(v, VERDICT_INVARIANT,
				   "an IST stack overflowed its guard words");
		}
		if (t->guard_hi_broken[i] >= 0) {
			diff(v, VERDICT_INVARIANT, IST_GUARD_PATTERN, 0,
			     "guard.%s.above[%d]", stack_names[i + 1],
			     t->guard_hi_broken[i]);
			fail_layer(v, VERDICT_INVARIANT,
				   "something wrote above an IST stack's top");
		}
	}
}

static void judge_final_state(const struct oracle_context *ctx,
			      const struct oracle_case *c, struct verdict *v)
{
	const struct vcpu_state *g = &c->golden->final, *t = &c->trial->final;
	const char *what =
		"the workload's final state differs from the golden run";
	enum verdict_kind L = VERDICT_STATE_MISMATCH;
	const uint64_t *gu = (const void *)c->golden->user_data;
	const uint64_t *tu = (const void *)c->trial->user_data;

#define FINAL_GPR(r) expect_eq(v, L, g->regs.r, t->regs.r, what, "final.", #r);
	GPR_LIST(FINAL_GPR)
#undef FINAL_GPR
	expect_eq(v, L, g->regs.rip, t->regs.rip, what, "final.", "rip");
	expect_eq(v, L, g->regs.rsp, t->regs.rsp, what, "final.", "rsp");
	expect_eq(v, L, g->regs.rflags, t->regs.rflags, what, "final.",
		  "rflags");
#define FINAL_SEG(s)                                                           \
	expect_eq(v, L, g->sregs.s.selector, t->sregs.s.selector, what,        \
		  "final.", #s);
	FINAL_SEG(cs)
	FINAL_SEG(ss)
	FINAL_SEG(ds)
	FINAL_SEG(es)
	FINAL_SEG(fs)
	FINAL_SEG(gs)
#undef FINAL_SEG
	expect_eq(v, L, g->sregs.fs.base, t->sregs.fs.base, what, "final.",
		  "fs.base");
	expect_eq(v, L, g->sregs.gs.base, t->sregs.gs.base, what, "final.",
		  "gs.base");
	expect_eq(v, L, g->kernel_gs_base, t->kernel_gs_base, what, "final.",
		  "kernel_gs_base");

	for (size_t i = 0; i < c->golden->user_len / 8; i++) {
		if (gu[i] != tu[i] && !in_scratch(ctx, i * 8)) {
			diff(v, L, gu[i], tu[i], "user_data+0x%zx", i * 8);
			fail_layer(v, L, "%s",
				   "the workload's memory differs "
				   "from the golden run");
		}
	}
}

/* Each system call the golden run made, made again with the same
 * arguments: an event that corrupts a syscall's registers shows here. */
static void judge_syscalls(const struct oracle_case *c, struct verdict *v)
{
	unsigned ng = count_vector(&c->golden->log, IST_VEC_SYSCALL);
	unsigned nt = count_vector(&c->trial->log, IST_VEC_SYSCALL);
	const char *what =
		"the workload's system calls differ from the golden run";
	enum verdict_kind L = VERDICT_STATE_MISMATCH;
	char p[24];

	expect_eq(v, L, ng, nt, what, "", "syscalls");
	for (unsigned k = 0; k < ng && k < nt; k++) {
		const struct ist_log_entry *g =
			first_of(&c->golden->log, IST_VEC_SYSCALL, k);
		const struct ist_log_entry *t =
			first_of(&c->trial->log, IST_VEC_SYSCALL, k);
		snprintf(p, sizeof(p), "syscall[%u].", k);
#define SYSCALL_GPR(r) expect_eq(v, L, g->regs.r, t->regs.r, what, p, #r);
		GPR_LIST(SYSCALL_GPR)
#undef SYSCALL_GPR
		expect_eq(v, L, g->regs.orig_ax, t->regs.orig_ax, what, p,
			  "nr");
		expect_eq(v, L, g->regs.rip, t->regs.rip, what, p, "rip");
		expect_eq(v, L, g->regs.rsp, t->regs.rsp, what, p, "rsp");
		expect_eq(v, L, g->regs.rflags, t->regs.rflags, what, p,
			  "rflags");
		expect_eq(v, L, g->gs_base, t->gs_base, what, p, "gs_base");
	}
}

void oracle_judge(const struct oracle_context *ctx, const struct oracle_case *c,
		  struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->kind = VERDICT_PASS;
	if (c->expect_shutdown) {
		if (c->trial->end == RUN_SHUTDOWN) {
			v->kind = VERDICT_ARCH_SHUTDOWN;
			snprintf(v->summary, sizeof(v->summary),
				 "the CPU shut down, as the architecture "
				 "requires here");
		} else {
			v->kind = VERDICT_HARNESS_ERROR;
			snprintf(v->summary, sizeof(v->summary),
				 "the model says the CPU must shut down here, "
				 "but the run ended in %s",
				 run_end_name(c->trial->end));
		}
		return;
	}
	judge_machine(c, v);
	if (c->trial->end == RUN_HANG)
		judge_rewound_frames(c, v);
	judge_overflow(c, v);
	for (int i = 0; i < c->ndeliveries; i++)
		if (!judged_before(c, i))
			judge_vector(ctx, c, c->deliveries[i].vector, v);
	judge_guards(c->trial, v);
	if (c->trial->end == RUN_DONE) {
		judge_final_state(ctx, c, v);
		judge_syscalls(c, v);
	}
	if (v->kind == VERDICT_PASS)
		snprintf(v->summary, sizeof(v->summary), "pass");
}
