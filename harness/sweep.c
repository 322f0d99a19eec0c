#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sweep.h"

#include "crashfile.h"
#include "trial.h"
#include "xalloc.h"

/* The verdict each exact declaration asks for. */
static const enum verdict_kind expected_kind[IST_EXPECT_MAX + 1] = {
	[0] = VERDICT_PASS,
	[IST_EXPECT_SHUTDOWN] = VERDICT_SHUTDOWN,
	[IST_EXPECT_HANG] = VERDICT_HANG,
	[IST_EXPECT_INVARIANT] = VERDICT_INVARIANT,
	[IST_EXPECT_FRAME_MISMATCH] = VERDICT_FRAME_MISMATCH,
	[IST_EXPECT_STATE_MISMATCH] = VERDICT_STATE_MISMATCH,
	[IST_EXPECT_LOST_EVENT] = VERDICT_LOST_EVENT,
	[IST_EXPECT_DOUBLE_HANDLED] = VERDICT_DOUBLE_HANDLED,
	[IST_EXPECT_DOUBLE_FAULT] = VERDICT_DOUBLE_FAULT,
	[IST_EXPECT_UNEXPECTED_EXCEPTION] = VERDICT_UNEXPECTED_EXCEPTION,
};

int verdict_as_declared(enum verdict_kind kind, uint64_t declared)
{
	/* The CPU had to shut down before the stub could show anything: no
	 * declaration can ask for more (naive-ist's EXPECT_REENTRY fail
	 * covers #MC -> #MC -> #MC, whose last #MC meets MCIP=1). */
	if (kind == VERDICT_ARCH_SHUTDOWN)
		return 1;
	if (declared == IST_EXPECT_FAIL)
		return kind != VERDICT_PASS && kind != VERDICT_HARNESS_ERROR;
	return declared <= IST_EXPECT_MAX && kind == expected_kind[declared];
}

const char *declaration_name(uint64_t declared)
{
	if (declared == IST_EXPECT_FAIL)
		return "fail";
	return declared <= IST_EXPECT_MAX
		       ? verdict_name(expected_kind[declared])
		       : "?";
}

void depth_counts_add(struct depth_counts *a, const struct depth_counts *b)
{
	a->schedules += b->schedules;
	a->passed += b->passed;
	a->failed += b->failed;
	a->arch_shutdown += b->arch_shutdown;
	a->outside += b->outside;
	a->impossible += b->impossible;
	a->held_out += b->held_out;
	a->unraisable += b->unraisable;
	a->harness_errors += b->harness_errors;
}

struct depth_counts sweep_totals(const struct stub_sweep *s)
{
	struct depth_counts t = {0};

	for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
		depth_counts_add(&t, &s->counts[d]);
	return t;
}

/* The schedule being built, level by level, and what is in flight. */
struct path {
	struct schedule sched;
	struct expected_delivery deliveries[SCHEDULE_MAX_DEPTH];
	int nd;
	/* Deliveries (bit i = deliveries[i]) whose handlers are running:
	 * throughout the current trace (inner), and once the handler the
	 * trace follows has returned (outer). */
	unsigned inflight_inner, inflight_outer;
	int reentry;
	/* IST_RULE_COMMIT: where each delivery's frame lies on the main
	 * stack, and the contexts of deliveries that found an entry parked
	 * before its commit (what deliveries[].frame points to then). */
	uint64_t frame_on_main[SCHEDULE_MAX_DEPTH];
	struct vcpu_state parked[SCHEDULE_MAX_DEPTH];
	const char *window; /* where the last step's event is raised */
};

/* --- traces after an event, kept for schedules that share a prefix ----- */

/* What decides a trace after an event: the path's injections up to it,
 * each where it was raised and delivered, and how. */
struct trace_key {
	int depth;
	struct {
		uint64_t addr, delivered, watch_from;
		unsigned exec, delivered_exec;
		int kind, cause;
	} step[SCHEDULE_MAX_DEPTH];
};

struct trace_cache {
	size_t n, cap;
	unsigned long tick;
	struct cached_trace {
		struct trace_key key;
		struct trace trace;
		unsigned long used;
		int pinned; /* being swept by a level above: never evicted */
	} * slot;
};

static void trace_key_of(const struct path *p, struct trace_key *k)
{
	memset(k, 0, sizeof(*k)); /* padding too: keys compare as bytes */
	k->depth = p->sched.depth;
	for (int i = 0; i < p->sched.depth; i++) {
		const struct schedule_step *st = &p->sched.step[i];

		k->step[i].addr = st->addr;
		k->step[i].exec = st->exec;
		k->step[i].delivered = st->delivered_addr;
		k->step[i].delivered_exec = st->delivered_exec;
		k->step[i].kind = st->inj.kind;
		k->step[i].cause = st->inj.db_cause;
		k->step[i].watch_from = st->inj.db_watch_from;
	}
}

static struct trace_cache *trace_cache_new(size_t cap)
{
	struct trace_cache *c = xcalloc(1, sizeof(*c));

	c->cap = cap;
	c->slot = xcalloc(cap, sizeof(*c->slot));
	return c;
}

static void trace_cache_free(struct trace_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		trace_free(&c->slot[i].trace);
	free(c->slot);
	free(c);
}

static struct cached_trace *trace_cache_find(struct trace_cache *c,
					     const struct trace_key *k)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (!memcmp(&c->slot[i].key, k, sizeof(*k))) {
			c->slot[i].used = ++c->tick;
			return &c->slot[i];
		}
	return NULL;
}

/* Takes t over (1), evicting the least recently used; 0 without a cache. */
static int trace_cache_keep(struct trace_cache *c, const struct trace_key *k,
			    const struct trace *t)
{
	struct cached_trace *victim;

	if (!c)
		return 0;
	if (c->n < c->cap) {
		victim = &c->slot[c->n++];
	} else {
		victim = NULL;
		for (size_t i = 0; i < c->n; i++)
			if (!c->slot[i].pinned &&
			    (!victim || c->slot[i].used < victim->used))
				victim = &c->slot[i];
		if (!victim)
			return 0; /* all in use above: not kept */
		trace_free(&victim->trace);
	}
	victim->pinned = 0;
	victim->key = *k;
	victim->trace = *t;
	victim->used = ++c->tick;
	return 1;
}

/* ist-designs.md B.1: a frame on the atomic IST entry's main stack is a
 * pt_regs and 8 bytes of padding. */
#define AIST_FRAME 176

struct sweeper {
	struct vm *vm;
	struct stub_sweep *s;
	const struct sweep_options *opt;
	struct oracle_context ctx;
	struct observation obs;
	int harness_error;
	char cov_error[300];
	struct cov_stub *cov; /* the stub's coverage, or NULL */
	/* The ordinal, level by level, of the schedule being tried; while
	 * `following`, the resume position is still ahead. */
	unsigned pos[SCHEDULE_MAX_DEPTH];
	int following;
	size_t top_done, top_total, since_progress;
};

/* Does the narrowing of level `level` (the level-th ">"-separated part of
 * opt->at, spaces around it ignored; none or empty: every boundary) admit
 * b? --exec applies to the first level only. */
static int at_matches(const struct sweeper *w, const struct boundary *b,
		      int level)
{
	const struct guest_symbol *sym;
	const char *part = w->opt->at;
	char want[160];
	size_t len;
	uint64_t addr;

	if (level == 0 && w->opt->exec && b->exec != w->opt->exec)
		return 0;
	for (int l = 0; part && l < level; l++) {
		part = strchr(part, '>');
		part = part ? part + 1 : NULL;
	}
	if (!part)
		return 1;
	part += strspn(part, " ");
	len = strcspn(part, ">");
	while (len && part[len - 1] == ' ')
		len--;
	if (len == 0 || len >= sizeof(want))
		return len == 0;
	memcpy(want, part, len);
	want[len] = 0;
	if (strchr(want, '+'))
		return image_parse_addr(&w->s->img, want, &addr) == 0 &&
		       addr == b->addr;
	sym = image_symbol_at(&w->s->img, b->addr);
	return sym && strcmp(sym->name, want) == 0;
}

/* Where a held event lands: the first later boundary of the same trace
 * where the model says it is delivered. A #DB trap held by a shadow is
 * held from there on, whatever the shadowed instruction did. */
static long delivery_index(const struct trace *t, size_t i,
			   const struct injection *inj, enum model_outcome *o)
{
	struct injection held = *inj;
	const char *why;

	*o = model_decide(&t->b[i].snap.state, inj, &why);
	if (*o != MODEL_DEFER && *o != MODEL_LATCH && *o != MODEL_MASKED)
		return (long)i;
	held.db_held = inj->kind == EVENT_DB && *o == MODEL_DEFER;
	for (size_t j = i + 1; j < t->n; j++) {
		enum model_outcome later =
			model_decide(&t->b[j].snap.state, &held, &why);
		if (later == MODEL_DELIVER) {
			*o = MODEL_DELIVER;
			return (long)j;
		}
	}
	return -1;
}

static uint64_t declared_for(const struct stub_sweep *s, const struct path *p)
{
	uint64_t declared = 0;

	for (int k = 0; k < p->sched.depth; k++) {
		uint64_t d = guest_expectation(&s->lay,
					       p->sched.step[k].delivered_addr);
		if (d)
			declared = d;
	}
	if (p->reentry && s->lay.expect_reentry)
		declared = s->lay.expect_reentry;
	return declared;
}

static const struct ist_assume *assumption_broken(const struct stub_sweep *s,
						  const struct schedule *sc)
{
	for (int k = 0; k < sc->depth; k++) {
		const struct injection *inj = &sc->step[k].inj;
		uint64_t event = 1ULL << inj->kind;
		const struct ist_assume *a;

		if (inj->kind == EVENT_DB &&
		    inj->db_cause == DB_INSN_BREAKPOINT)
			event |= IST_EVENT_DB_INSN;
		a = guest_assumption_broken(&s->lay, event,
					    sc->step[k].delivered_addr);
		if (a)
			return a;
	}
	return NULL;
}

static void keep_record(struct stub_sweep *s, const struct path *p,
			const struct verdict *v, uint64_t declared,
			int as_declared, const struct ist_assume *assumption)
{
	struct sweep_record *r = NULL;

	if (s->nrecords == s->cap_records) {
		size_t cap = s->cap_records ? s->cap_records * 2 : 64;
		struct sweep_record *nr;

		if (cap > s->max_records)
			cap = s->max_records;
		if (cap > s->cap_records &&
		    (nr = realloc(s->records, cap * sizeof(*nr)))) {
			s->records = nr;
			s->cap_records = cap;
		}
	}
	if (s->nrecords < s->cap_records) {
		r = &s->records[s->nrecords++];
	} else {
		/* Full. A result the stub did not declare decides the exit
		 * status and must be shown: it takes the place of the last
		 * one kept that was as declared. */
		s->dropped_records++;
		for (size_t k = s->nrecords; !as_declared && !r && k-- > 0;)
			if (s->records[k].as_declared)
				r = &s->records[k];
		if (!r)
			return;
	}
	r->sched = p->sched;
	r->verdict = *v;
	r->declared = declared;
	r->as_declared = as_declared;
	r->assumption = assumption;
	r->reentry = p->reentry;
	snprintf(r->window, sizeof(r->window), "%s",
		 p->window ? p->window : "");
}

/* A failure inside the stub's assumptions, as a crash file named by its
 * signature: a second finding of the same bug writes nothing. */
static void write_crash_file(struct sweeper *w, const struct path *p,
			     const struct verdict *v)
{
	struct stub_sweep *s = w->s;
	char path[4096], err[300];
	int rc = crash_write(w->opt->crash_dir, s->name, &s->img, w->opt->seed,
			     w->opt->db_method == DB_BY_GUEST_DR, &p->sched, v,
			     path, sizeof(path), err, sizeof(err));

	if (rc == 0)
		s->crashes_written++;
	if (rc < 0 && !s->crash_write_errors++)
		snprintf(s->crash_error, sizeof(s->crash_error), "%s", err);
}

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* trial_run, timed for the benchmark's hook when there is one. */
static int run_trial(struct sweeper *w, const struct stub_sweep *s, int level,
		     const struct boundary *at, const struct injection *inj,
		     char *why, size_t whylen)
{
	double t0 = w->opt->trial_done ? monotonic_seconds() : 0;
	int rc = trial_run(w->vm, &s->img, &s->lay, at, inj, w->opt->timeout_ms,
			   &w->obs, why, whylen);

	if (!rc && w->opt->trial_done)
		w->opt->trial_done(w->opt->trial_done_ctx, w->vm, s, level, at,
				   inj, &w->obs, monotonic_seconds() - t0);
	return rc;
}

/* Counts and records a judged schedule. `tried` is 0 for a harness error
 * about a schedule already counted (its deeper trace could not be
 * recorded): reported, not counted twice. */
static void classify(struct sweeper *w, const struct path *p, struct verdict *v,
		     int tried)
{
	struct stub_sweep *s = w->s;
	struct depth_counts *c = &s->counts[p->sched.depth - 1];
	const struct ist_assume *a = assumption_broken(s, &p->sched);
	uint64_t declared = declared_for(s, p);
	int as_declared = verdict_as_declared(v->kind, declared);

	c->schedules += tried;
	/* A finding as the fuzzer counts one: a failure inside the stub's
	 * assumptions or in a hole it declares (KNOWN_HOLE). */
	if (tried && !s->first_failure_seconds && v->kind != VERDICT_PASS &&
	    v->kind != VERDICT_ARCH_SHUTDOWN &&
	    v->kind != VERDICT_HARNESS_ERROR &&
	    (!a || (a->events & IST_ASSUME_HOLE))) {
		s->first_failure_seconds =
			monotonic_seconds() - s->run_started + 1e-9;
		s->first_failure_schedule = sweep_totals(s).schedules;
	}
	switch (v->kind) {
	case VERDICT_PASS:
		c->passed++;
		break;
	case VERDICT_ARCH_SHUTDOWN:
		c->arch_shutdown++;
		break;
	case VERDICT_HARNESS_ERROR:
		c->harness_errors++;
		w->harness_error = 1;
		break;
	default:
		if (a) {
			/* Reported apart, never hidden, never blamed. */
			c->outside++;
			as_declared = 1;
		} else {
			c->failed++;
		}
	}
	if (!as_declared) {
		s->not_as_declared++;
		s->no_longer_failing += v->kind == VERDICT_PASS;
	}
	if (w->opt->judged && tried)
		w->opt->judged(w->opt->judged_ctx, s, &p->sched, p->window, v,
			       as_declared, a);
	if (w->cov && tried) {
		const struct schedule_step *last =
			&p->sched.step[p->sched.depth - 1];
		enum cov_outcome o =
			v->kind == VERDICT_PASS		   ? COV_PASS
			: v->kind == VERDICT_ARCH_SHUTDOWN ? COV_SHUTDOWN
			: v->kind == VERDICT_HARNESS_ERROR ? COV_HARNESS
			: a				   ? COV_OUTSIDE
							   : COV_DECLARED;

		if (!as_declared && v->kind != VERDICT_HARNESS_ERROR)
			o = COV_UNDECLARED;
		cov_trial(w->cov, last->addr, p->window, last->inj.kind,
			  p->sched.depth, o, v->kind);
	}
	if (w->opt->crash_dir && tried && !a && v->kind != VERDICT_PASS &&
	    v->kind != VERDICT_ARCH_SHUTDOWN &&
	    v->kind != VERDICT_HARNESS_ERROR)
		write_crash_file(w, p, v);
	if (v->kind != VERDICT_PASS && v->kind != VERDICT_ARCH_SHUTDOWN)
		keep_record(s, p, v, declared, as_declared,
			    v->kind == VERDICT_HARNESS_ERROR ? NULL : a);
	else if (!as_declared)
		keep_record(s, p, v, declared, as_declared, NULL);
}

static void harness_failure(struct verdict *v, const char *why)
{
	memset(v, 0, sizeof(*v));
	v->kind = VERDICT_HARNESS_ERROR;
	snprintf(v->summary, sizeof(v->summary), "%s", why);
}

static void sweep_trace(struct sweeper *w, const struct trace *t,
			const char *resumed_in, int level, struct path *p);

/* Adds a delivery to the path: which handlers it finds running, whether it
 * re-enters an IST stack one of them still uses, and the interrupted
 * context its body must be given. That is the frame where it struck,
 * unless the stub declares Linux's nested-NMI rule: an NMI arriving while
 * another NMI's handler runs gets no body of its own; the outer NMI runs
 * its body again, with the outer's context. */
/* IST_RULE_COMMIT (ist-designs.md B.6). An event that interrupts an
 * entry before its commit (commit_label) sees that entry parked there: RIP
 * the label, RSP = RAX = the entry's frame on the main stack, the other
 * GPRs 0, its own RFLAGS without AC and DF, its own CS and SS; its frame
 * goes right below. Any other event starts a chain: its frame lies below
 * the interrupted RSP (16-aligned) when that is on the main stack, else
 * below the main stack's top. Returns the context the body must see. */
static const struct vcpu_state *commit_rule(const struct guest_layout *lay,
					    const struct path *p,
					    struct path *child, int i,
					    const struct vcpu_state *at,
					    uint64_t commit_label)
{
	uint64_t lo = lay->body_stack[0], hi = lay->body_stack[1];
	uint64_t rsp = at->regs.rsp;
	struct vcpu_state *f;

	if (!commit_label) {
		uint64_t base = rsp >= lo && rsp < hi ? rsp & ~15ULL : hi;
		child->frame_on_main[i] = base - AIST_FRAME;
		return at;
	}
	f = &child->parked[i];
	*f = *at;
	memset(&f->regs, 0, sizeof(f->regs));
	f->regs.rip = commit_label;
	f->regs.rax = f->regs.rsp = p->frame_on_main[p->nd - 1];
	f->regs.rflags = at->regs.rflags & ~(RFLAGS_AC | RFLAGS_DF);
	child->frame_on_main[i] = f->regs.rsp - AIST_FRAME;
	return f;
}

static void deliver(const struct sweeper *w, const struct path *p,
		    struct path *child, const struct injector *injector,
		    const struct snapshot *at, unsigned inflight,
		    uint64_t commit_label)
{
	const struct vcpu_state *expected = &at->state;
	const struct guest_layout *lay = &w->s->lay;
	int i = child->nd, coalesces = 0;
	unsigned before = 0;

	int ist = guest_gate_ist(lay, injector->vector);

	/* Only an IST gate rewinds a stack: one on the interrupted stack
	 * pushes below whatever is there. */
	for (int d = 0; d < p->nd; d++) {
		if (!(inflight & (1u << d)) || !ist ||
		    p->deliveries[d].ist_index != ist)
			continue;
		child->reentry = 1;
		if (injector->vector == IST_VEC_NMI &&
		    (lay->rules & IST_RULE_NMI_REPEAT) && !coalesces) {
			expected = p->deliveries[d].frame;
			coalesces = 1;
		}
	}
	/* The vector's bodies already in the log where it was delivered. */
	if (coalesces) {
		uint64_t count = 0, n, vector;

		snapshot_read(at, lay,
			      lay->log_gpa + offsetof(struct ist_log, count),
			      &count, sizeof(count));
		n = count < IST_LOG_MAX ? count : IST_LOG_MAX;
		for (uint64_t k = 0; k < n; k++)
			if (snapshot_read(
				    at, lay,
				    lay->log_gpa +
					    offsetof(struct ist_log, entries) +
					    k * sizeof(struct ist_log_entry) +
					    offsetof(struct ist_log_entry,
						     vector),
				    &vector, sizeof(vector)) == 0)
				before += vector == injector->vector;
	}
	if (lay->rules & IST_RULE_COMMIT)
		expected =
			commit_rule(lay, p, child, i, &at->state, commit_label);
	child->deliveries[i] = (struct expected_delivery){
		.vector = injector->vector,
		.event = injector->name,
		.ist_index = ist,
		.frame = expected,
		.coalesces = coalesces,
		.bodies_before = before,
	};
	child->nd = i + 1;
	child->inflight_outer = inflight;
	child->inflight_inner = inflight | (1u << i);
}

/* IST_RULE_COMMIT: the commit label of the entry the previous event of
 * the path went through, when t (the trace after it) has not reached that
 * label by boundary j: the entry is parked there, and the interrupted code
 * resumes at the label. Else 0. */
static uint64_t parked_at(const struct stub_sweep *s, const struct trace *t,
			  long j, int level, const struct path *p)
{
	uint64_t label;

	if (!(s->lay.rules & IST_RULE_COMMIT) || level == 0 || p->nd == 0)
		return 0;
	label = guest_commit_label(&s->lay, p->sched.step[level - 1].inj.kind);
	for (long k = 0; label && k <= j; k++)
		if (t->b[k].addr == label)
			return 0;
	return label;
}

/* The schedule at w->pos[0..level] is done: where a resume starts. */
static void note_done(struct sweeper *w, int level)
{
	memcpy(w->s->position, w->pos, sizeof(w->s->position));
	w->s->position_len = level + 1;
}

/* An enumerated schedule that is not run: counted, and in the coverage. */
static void skip_schedule(struct sweeper *w, const struct path *p,
			  size_t *count)
{
	const struct schedule_step *st = &p->sched.step[p->sched.depth - 1];

	(*count)++;
	note_done(w, p->sched.depth - 1);
	if (w->cov)
		cov_trial(w->cov, st->addr, p->window, st->inj.kind,
			  p->sched.depth, COV_UNTRIED, VERDICT_PASS);
}

/* One schedule: the path so far plus (event at t->b[i]). A #DB is an
 * instruction breakpoint there, or with `watch` a data breakpoint on the
 * operand of the MOV SS whose held trap lands there. `done`: an earlier
 * run tried it (resume); only its deeper schedules are left. */
static void try_schedule(struct sweeper *w, const struct trace *t,
			 const char (*windows)[WINDOW_LABEL_MAX], size_t i,
			 int level, struct path *p, enum event_kind kind,
			 const struct ss_watch *watch, int done)
{
	const struct injector *injector = injector_for(kind);
	struct schedule_step *st = &p->sched.step[level];
	struct stub_sweep *s = w->s;
	struct oracle_case c = {0};
	enum model_outcome outcome;
	const struct boundary *at;
	struct path child;
	struct verdict v;
	uint64_t commit_label;
	const char *why_not;
	char why[400];
	long j;

	memset(st, 0, sizeof(*st));
	injection_default(&st->inj, kind);
	st->inj.db_method = w->opt->db_method;
	if (w->opt->only)
		st->inj = w->opt->only->step[level].inj;
	if (watch) {
		st->inj.db_cause = DB_DATA_BREAKPOINT;
		st->inj.db_watch_from = watch->from;
		st->inj.db_watch_addr = watch->addr;
		st->inj.db_held = 1;
		/* The guest's own watchpoint where the back end holds its
		 * trap as hardware does; else raised where it lands. */
		st->inj.db_arm_watch = w->opt->db_method == DB_BY_GUEST_DR &&
				       (vm_features(w->vm) & VM_DATA_BP_HELD) &&
				       watch->arm;
	}
	st->addr = t->b[i].addr;
	st->exec = t->b[i].exec;
	snprintf(st->insn, sizeof(st->insn), "%s", t->b[i].insn.text);
	p->sched.depth = level + 1;
	p->window = windows[i];

	j = delivery_index(t, i, &st->inj, &outcome);
	/* What the model says where the event is raised (held or not). */
	st->outcome = model_decide(&t->b[i].snap.state, &st->inj, &why_not);
	if (outcome == MODEL_IMPOSSIBLE || j < 0) {
		if (!done)
			skip_schedule(w, p,
				      j < 0 && outcome != MODEL_IMPOSSIBLE
					      ? &s->counts[level].held_out
					      : &s->counts[level].impossible);
		return;
	}
	/* The guest's own execute breakpoint on the #DB gate's first
	 * instruction fires again on its own delivery, before that
	 * instruction: it cannot raise the one #DB the schedule asks for
	 * there (the payload can). */
	if (kind == EVENT_DB && st->inj.db_method == DB_BY_GUEST_DR &&
	    !st->inj.db_arm_watch && t->b[j].addr == s->lay.gate_db) {
		if (!done)
			skip_schedule(w, p, &s->counts[level].unraisable);
		return;
	}
	at = &t->b[j];
	st->delivered_addr = at->addr;
	st->delivered_exec = at->exec;
	commit_label = parked_at(s, t, j, level, p);

	child = *p;
	if (outcome == MODEL_DELIVER)
		deliver(w, p, &child, injector, &at->snap,
			(size_t)j < t->resumed ? p->inflight_inner
					       : p->inflight_outer,
			commit_label);
	c.golden = &s->golden.final;
	c.trial = &w->obs;
	c.deliveries = child.deliveries;
	c.ndeliveries = child.nd;
	c.expect_shutdown = outcome == MODEL_SHUTDOWN;

	memset(&v, 0, sizeof(v));
	if (done)
		v.kind = VERDICT_PASS; /* judged by the earlier run */
	else if (run_trial(w, s, level, at, &st->inj, why, sizeof(why)))
		harness_failure(&v, why);
	else
		oracle_judge(&w->ctx, &c, &v);
	if (!done) {
		classify(w, &child, &v, 1);
		note_done(w, level);
	}
	if (w->opt->only && level + 1 == w->opt->only->depth) {
		s->only_tried = 1;
		s->only_verdict = v;
		if (w->opt->only_done)
			w->opt->only_done(w->opt->only_ctx, w->vm, s, at,
					  &st->inj);
	}

	if (level + 1 < w->opt->depth && outcome == MODEL_DELIVER &&
	    v.kind != VERDICT_HARNESS_ERROR) {
		struct cached_trace *cached;
		struct trace_key key;
		struct trace sub;

		/* Now: the levels below write their steps into child. */
		trace_key_of(&child, &key);
		cached = trace_cache_find(s->cache, &key);
		if (cached) {
			cached->pinned++;
			sweep_trace(w, &cached->trace, windows[j], level + 1,
				    &child);
			cached->pinned--;
			return;
		}
		if (trace_after(w->vm, &s->img, &s->lay, at, &st->inj,
				commit_label, &sub, why, sizeof(why))) {
			child.sched.depth = level + 1;
			harness_failure(&v, why);
			classify(w, &child, &v, 0);
			return;
		}
		sweep_trace(w, &sub, windows[j], level + 1, &child);
		if (!trace_cache_keep(s->cache, &key, &sub))
			trace_free(&sub);
	}
}

/* Replay: the one step of the schedule at this level, if t->b[i] is its
 * boundary. */
static void replay_step(struct sweeper *w, const struct trace *t,
			const char (*windows)[WINDOW_LABEL_MAX], size_t i,
			int level, struct path *p,
			const struct schedule_step *only)
{
	const struct boundary *b = &t->b[i];
	int data = only->inj.kind == EVENT_DB &&
		   only->inj.db_cause == DB_DATA_BREAKPOINT;

	if (b->addr != only->addr || b->exec != only->exec)
		return;
	if (data &&
	    (!b->ss_watch.from || b->ss_watch.from != only->inj.db_watch_from))
		return;
	try_schedule(w, t, windows, i, level, p, only->inj.kind,
		     data ? &b->ss_watch : NULL, 0);
}

/* Time to stop? Checked before each schedule. A time budget lets each run
 * try one schedule at least, so that resuming always gets further. */
static int must_stop(struct sweeper *w)
{
	if (!w->s->stopped && ((w->opt->stop && *w->opt->stop) ||
			       (w->opt->deadline && w->s->position_len &&
				monotonic_seconds() >= w->opt->deadline)))
		w->s->stopped = 1;
	return w->s->stopped;
}

static void report_progress(struct sweeper *w, int force)
{
	if (!w->opt->progress || (!force && ++w->since_progress < 256))
		return;
	w->since_progress = 0;
	w->opt->progress(w->opt->progress_ctx, w->s, w->top_done, w->top_total);
}

/* One schedule of the enumeration, numbered by its ordinal among those of
 * its trace: left to another shard, already done by the run being resumed
 * (then only its deeper schedules are left, if the resume position lies
 * under it), or tried. */
static void enumerate(struct sweeper *w, const struct trace *t,
		      const char (*windows)[WINDOW_LABEL_MAX], size_t i,
		      int level, struct path *p, enum event_kind kind,
		      const struct ss_watch *watch, unsigned *ordinal)
{
	unsigned o = (*ordinal)++;
	int done = 0;

	if (level == 0 && w->opt->shard_count > 1 &&
	    o % w->opt->shard_count != w->opt->shard_index)
		return;
	if (w->following && level < w->opt->resume_len) {
		if (o < w->opt->resume[level])
			return;
		if (o == w->opt->resume[level]) {
			done = 1;
			/* Past the position's last level all is new. */
			if (level + 1 == w->opt->resume_len)
				w->following = 0;
		} else {
			w->following = 0; /* its deeper levels are gone */
		}
	}
	if (must_stop(w))
		return;
	w->pos[level] = o;
	try_schedule(w, t, windows, i, level, p, kind, watch, done);
	if (level == 0)
		w->top_done++;
	report_progress(w, level == 0);
}

static void sweep_trace_labelled(struct sweeper *w, const struct trace *t,
				 const char (*windows)[WINDOW_LABEL_MAX],
				 int level, struct path *p)
{
	unsigned events = w->opt->events[level] & (unsigned)w->s->lay.handles;
	const struct schedule_step *only =
		w->opt->only ? &w->opt->only->step[level] : NULL;
	unsigned ordinal = 0;

	if (w->cov) {
		cov_note_events(w->cov, level + 1, events);
		for (size_t i = 0; i < t->n; i++)
			cov_reach(w->cov, t->b[i].addr, windows[i], level + 1);
	}
	if (w->opt->pick) {
		struct sweep_pick pk = {0};

		if (w->opt->pick(w->opt->pick_ctx, level, t, events, &pk) ||
		    pk.i >= t->n)
			return;
		try_schedule(w, t, windows, pk.i, level, p, pk.kind,
			     pk.data && t->b[pk.i].ss_watch.from
				     ? &t->b[pk.i].ss_watch
				     : NULL,
			     0);
		return;
	}
	for (size_t i = 0; i < t->n && !w->s->stopped; i++) {
		if (!at_matches(w, &t->b[i], level))
			continue;
		if (only) {
			replay_step(w, t, windows, i, level, p, only);
			continue;
		}
		for (int k = 0; k < EVENT_KIND_COUNT; k++) {
			/* A maskable interrupt raised while IF=0 waits for
			 * the first boundary with IF=1, where it is tried
			 * anyway: earlier it adds only duplicates. */
			if (k == EVENT_IRQ &&
			    !(t->b[i].snap.state.regs.rflags & RFLAGS_IF))
				continue;
			if (events & (1u << k))
				enumerate(w, t, windows, i, level, p, k, NULL,
					  &ordinal);
		}
		if ((events & (1u << EVENT_DB)) && t->b[i].ss_watch.from)
			enumerate(w, t, windows, i, level, p, EVENT_DB,
				  &t->b[i].ss_watch, &ordinal);
	}
}

/* How many schedules the first level enumerates (a progress line's
 * denominator). */
static size_t count_first_level(struct sweeper *w, const struct trace *t)
{
	unsigned events = w->opt->events[0] & (unsigned)w->s->lay.handles;
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (!at_matches(w, &t->b[i], 0))
			continue;
		for (int k = 0; k < EVENT_KIND_COUNT; k++)
			n += (events & (1u << k)) &&
			     (k != EVENT_IRQ ||
			      (t->b[i].snap.state.regs.rflags & RFLAGS_IF));
		n += (events & (1u << EVENT_DB)) && t->b[i].ss_watch.from;
	}
	if (w->opt->shard_count > 1)
		n = (n + w->opt->shard_count - 1 - w->opt->shard_index) /
		    w->opt->shard_count;
	return n;
}

static void sweep_trace(struct sweeper *w, const struct trace *t,
			const char *resumed_in, int level, struct path *p)
{
	char(*windows)[WINDOW_LABEL_MAX] = xcalloc(t->n, sizeof(*windows));

	window_label_trace(&w->s->img, &w->s->lay, t, resumed_in, windows);
	sweep_trace_labelled(w, t, (const char(*)[WINDOW_LABEL_MAX])windows,
			     level, p);
	free(windows);
}

int sweep_open(struct vm *vm, const char *name, const char *path,
	       const struct sweep_options *opt, struct stub_sweep *s)
{
	char err[400];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->depth = opt->depth;
	s->max_records =
		opt->max_records ? opt->max_records : SWEEP_MAX_RECORDS;
	if (image_load(path, &s->img, err, sizeof(err)) ||
	    guest_layout_read(&s->img, &s->lay, err, sizeof(err))) {
		snprintf(s->error, sizeof(s->error), "%s", err);
		return -1;
	}
	if (s->lay.ntrace_user && !(vm_features(vm) & VM_CAN_STEP_USER)) {
		snprintf(s->error, sizeof(s->error),
			 "%s traces user code (TRACE_USER), and %s cannot stop "
			 "the guest at CPL3: sweep it with --backend qemu",
			 name, vm_backend(vm));
		image_free(&s->img);
		return -1;
	}
	if (golden_run(vm, &s->img, &s->lay, opt->seed, &s->golden, err,
		       sizeof(err))) {
		snprintf(s->error, sizeof(s->error), "%s", err);
		s->golden_failed = 1;
		image_free(&s->img);
		return -1;
	}
	s->loaded = 1;
	(void)fixup_check(&s->img, &s->lay, &s->fixup); /* error in it */
	return 0;
}

int sweep_run(struct vm *vm, struct stub_sweep *s,
	      const struct sweep_options *opt, int *harness_error)
{
	struct sweeper w = {.vm = vm, .s = s, .opt = opt};
	struct path root = {0};

	*harness_error = 0;
	s->stopped = 0;
	s->position_len = 0;
	s->run_started = monotonic_seconds();
	if (opt->cache_traces && !s->cache)
		s->cache = trace_cache_new(opt->cache_traces);
	if (observation_init(&w.obs, &s->lay)) {
		*harness_error = 1;
		return -1;
	}
	oracle_context_init(&w.ctx, &s->lay, s->lay.boot_cr3);
	if (opt->coverage) {
		w.cov = coverage_stub(opt->coverage, s->name,
				      crash_image_hash(&s->img), s->error,
				      sizeof(s->error));
		if (!w.cov) {
			observation_free(&w.obs);
			return -1;
		}
	}
	w.following = opt->resume_len > 0;
	w.top_total = count_first_level(&w, &s->golden.trace);
	s->first_level_total = w.top_total;
	sweep_trace(&w, &s->golden.trace, NULL, 0, &root);
	report_progress(&w, 1);
	observation_free(&w.obs);
	*harness_error = w.harness_error;
	return w.harness_error ? -1 : 0;
}

int sweep_stub(struct vm *vm, const char *name, const char *path,
	       const struct sweep_options *opt, struct stub_sweep *s,
	       int *harness_error)
{
	*harness_error = 0;
	if (sweep_open(vm, name, path, opt, s))
		return -1;
	return sweep_run(vm, s, opt, harness_error);
}

void stub_sweep_free(struct stub_sweep *s)
{
	trace_cache_free(s->cache);
	free(s->records);
	if (s->loaded) {
		golden_free(&s->golden);
		image_free(&s->img);
	}
	memset(s, 0, sizeof(*s));
}
