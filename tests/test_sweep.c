/* End-to-end: real sweeps of real stubs, under KVM or (argument "qemu")
 * under QEMU.
 *
 * - linux passes at every boundary, and every boundary of its SYSCALL path
 *   is reached once per system call;
 * - cs-swapgs fails at exactly the boundaries where the CPU is at CPL0 with
 *   the user's GS base, asserted as a set: once against names written out
 *   here, once against the set computed from the golden snapshots;
 * - nothing of the stepping machinery (TF, RF) reaches what the guest sees;
 * - a guest that triple-faults, or hangs, is a verdict and the sweep goes on;
 *   a hang whose state repeats is called at once, naming where it loops;
 * - the exit status follows the stubs' declarations;
 * - two golden runs of the same seed are identical;
 * - a trial that overwrites the guest's code does not poison later ones;
 * - naive-ist's nesting bugs are found: #MC > #MC and #DB > #DB at depth 2,
 *   NMI > #MC > NMI and NMI > #DB > NMI at depth 3, each asserted by the
 *   boundaries that fail and the frame fields that show the rewind;
 * - nmi-unmask's IRET to self lets a second NMI rewind the NMI stack;
 * - atomic-ist: events inside an entry before its commit see it parked at
 *   its commit label, and Linux's depth-3 prologue hole does not open;
 * - an NMI gate without IST runs on the user's stack where SYSCALL left
 *   the user's RSP at CPL0, and nowhere else;
 * - percpu-kstack: NMIs without IST, a nesting counter picking the stack,
 *   run on the thread's save area or write the user's stack at exactly the
 *   declared windows; percpu-kstack-ist, its fix, passes depth 1 and a
 *   narrowed depth 2;
 * - sti-padded: a maskable interrupt taken at SYSRETQ, on the user's stack
 *   and GS, raised there or in the STI shadow before it; sti-shadow: the
 *   shadow holds every one past SYSRETQ, out of entry text;
 * - activation: an interrupt inside the user-side restore of a scheduler
 *   activation, while the kernel reuses the one record, fails at every
 *   boundary before the restore's last read, and passes after it;
 *   activation-chained passes every interrupt at depth 2;
 * - movss-db (CVE-2018-8897): the data breakpoint on the workload's MOV SS
 *   operand lands on the first instruction of the SYSCALL entry and fails
 *   there, the instruction breakpoints are outside its assumption; linux
 *   passes the same schedules;
 * - Xen mini-os's fixup table: the right one passes, the drifted one fails
 *   at exactly the instructions where it disagrees with the decode;
 * - linux passes depth 2 with NMI, #DB and #MC inside its assumptions, and
 *   NMI > #MC > NMI past its prologue, and its known hole
 *   inside the prologue is reported apart, as outside its assumptions.
 *
 * Without a usable back end it says why and exits 77 (skipped).
 */
#include <stdlib.h>

#include "check.h"
#include "sweep.h"
#include "test_vm.h"
#include "trial.h"

#define RFLAGS_TF (1ULL << 8)
#define RFLAGS_RF (1ULL << 16)

/* Depth 1, NMI only, unless a test says otherwise. */
static struct sweep_options options = {
	.seed = 1,
	.timeout_ms = TRIAL_TIMEOUT_MS,
	.depth = 1,
	.events = {1u << EVENT_NMI, 1u << EVENT_NMI, 1u << EVENT_NMI,
		   1u << EVENT_NMI},
};

static int sweep(struct vm *vm, const char *dir, const char *name,
		 struct stub_sweep *s)
{
	char path[512];
	int harness_error, rc;

	snprintf(path, sizeof(path), "%s/%s.elf", dir, name);
	rc = sweep_stub(vm, name, path, &options, s, &harness_error);
	if (rc)
		fprintf(stderr, "sweep of %s failed: %s (harness error %d)\n",
			name, s->error, harness_error);
	return rc;
}

/* sweep() with options o instead of the file's defaults. */
static int sweep_with(struct vm *vm, const char *dir, const char *name,
		      const struct sweep_options *o, struct stub_sweep *s)
{
	struct sweep_options saved = options;
	int rc;

	options = *o;
	rc = sweep(vm, dir, name, s);
	options = saved;
	return rc;
}

static enum db_method db_method_for(struct vm *vm);
static int sweep_nmi_x_nmi(struct vm *vm, const char *stub,
			   enum event_kind middle, const char *middle_at,
			   struct stub_sweep *s);

#define ALL_EVENTS (1u << EVENT_NMI | 1u << EVENT_DB | 1u << EVENT_MC)

/* The defaults narrowed: `depth` levels of `events` each, #DB by the back
 * end's own method, the first injection at `at` (per level with '>'),
 * first execution only. */
static struct sweep_options narrowed(struct vm *vm, int depth, unsigned events,
				     const char *at)
{
	struct sweep_options o = options;

	o.depth = depth;
	for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
		o.events[d] = events;
	o.db_method = db_method_for(vm);
	o.at = at;
	o.exec = 1;
	return o;
}

static int name_in(const char *name, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, set[i]))
			return 1;
	return 0;
}

/* The #DB method the back end has: by payload where it can (KVM), else by
 * the guest's own DR0 (QEMU). */
static enum db_method db_method_for(struct vm *vm)
{
	return vm_features(vm) & VM_CAN_DB_PAYLOAD ? DB_BY_PAYLOAD
						   : DB_BY_GUEST_DR;
}

static void test_linux_passes_everywhere(struct vm *vm)
{
	struct stub_sweep s;
	uint64_t swapgs_execs = 0;

	if (sweep(vm, IST_GUEST_DIR, "linux", &s)) {
		CHECK(!"linux sweeps");
		return;
	}
	CHECK(s.golden.trace.n > 40);
	CHECK_EQ_U64(s.counts[0].schedules, s.golden.trace.n);
	CHECK_EQ_U64(s.counts[0].passed, s.golden.trace.n);
	CHECK_EQ_U64(s.counts[0].failed, 0);
	CHECK_EQ_U64(s.nrecords, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	for (size_t i = 0; i < s.golden.trace.n; i++) {
		const struct boundary *b = &s.golden.trace.b[i];
		/* Every boundary is entry text, at CPL0. */
		CHECK(guest_in_entry_text(&s.lay, b->addr));
		CHECK_EQ_U64(b->snap.state.sregs.cs.dpl, 0);
		swapgs_execs += b->addr == s.lay.entry_syscall;
		/* Each boundary is reached once per system call. */
		CHECK(b->exec >= 1 && b->exec <= IST_SYSCALL_COUNT);
	}
	CHECK_EQ_U64(swapgs_execs, IST_SYSCALL_COUNT);
	stub_sweep_free(&s);
}

static void test_cs_swapgs_fails_exactly_in_user_gs_windows(struct vm *vm)
{
	static const char *const expected[] = {
		"entry_SYSCALL_64+0x0",
		"entry_SYSCALL_64+0x0 #2",
		"entry_SYSCALL_64+0x0 #3",
		"entry_SYSRETQ_unsafe_stack+0x3",
		"entry_SYSRETQ_unsafe_stack+0x3 #2",
		"entry_SYSRETQ_unsafe_stack+0x3 #3",
	};
	size_t n = sizeof(expected) / sizeof(expected[0]), failed = 0;
	struct stub_sweep s;

	if (sweep(vm, IST_GUEST_DIR, "cs-swapgs", &s)) {
		CHECK(!"cs-swapgs sweeps");
		return;
	}
	/* Every failure is one of the expected ones, with GS the user's. */
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct sweep_record *r = &s.records[i];
		const struct schedule_step *st = &r->sched.step[0];
		char name[200];

		snprintf(name, sizeof(name), "%s", "?");
		for (size_t k = 0; k < s.golden.trace.n; k++) {
			const struct boundary *b = &s.golden.trace.b[k];
			if (b->addr == st->addr && b->exec == st->exec) {
				boundary_name(&s.img, b, name, sizeof(name));
				CHECK(b->snap.state.sregs.gs.base !=
				      s.lay.percpu_va);
			}
		}
		if (!name_in(name, expected, n)) {
			fprintf(stderr, "  unexpected failure at %s\n", name);
			CHECK(!"fails only at the expected boundaries");
		}
		failed++;
		CHECK_EQ_U64(r->verdict.kind, VERDICT_INVARIANT);
		CHECK(r->verdict.ndiffs >= 1);
		CHECK_EQ_STR(r->verdict.diffs[0].field, "nmi.gs_base");
		CHECK_EQ_U64(r->verdict.diffs[0].expected, s.lay.percpu_va);
	}
	/* And every boundary with the user's GS failed. */
	for (size_t k = 0; k < s.golden.trace.n; k++) {
		const struct boundary *b = &s.golden.trace.b[k];
		int found = 0;

		if (b->snap.state.sregs.gs.base == s.lay.percpu_va)
			continue;
		for (size_t i = 0; i < s.nrecords; i++)
			found |= s.records[i].sched.step[0].addr == b->addr &&
				 s.records[i].sched.step[0].exec == b->exec;
		CHECK(found);
	}
	CHECK_EQ_U64(failed, n);
	CHECK_EQ_U64(s.not_as_declared, 0);
	stub_sweep_free(&s);
}

static void check_no_tf_rf(const struct ist_log *log, const char *what)
{
	for (uint64_t i = 0; i < log->count && i < IST_LOG_MAX; i++) {
		const struct ist_log_entry *e = &log->entries[i];
		/* R11 is the user's RFLAGS only in a syscall's pt_regs. */
		uint64_t r11 = e->vector == IST_VEC_SYSCALL ? e->regs.r11 : 0;
		if ((e->regs.rflags | r11 | e->rflags) &
		    (RFLAGS_TF | RFLAGS_RF)) {
			fprintf(stderr, "  %s: log entry %llu (vector %llu)\n",
				what, (unsigned long long)i,
				(unsigned long long)e->vector);
			CHECK(!"no TF or RF in any frame, R11 or body RFLAGS");
		}
	}
}

/* The guest sees RFLAGS in three places: the frames handlers receive, R11
 * after SYSCALL (saved into each syscall's pt_regs), and its own PUSHF in
 * every body. None may carry a TF or RF the workload did not set. */
static void test_no_tf_or_rf_leaks(struct vm *vm)
{
	struct stub_sweep s;
	struct observation obs;
	struct injection nmi;
	char why[400];

	if (sweep(vm, IST_GUEST_DIR, "linux", &s)) {
		CHECK(!"linux sweeps");
		return;
	}
	injection_default(&nmi, EVENT_NMI);
	check_no_tf_rf(&s.golden.final.log, "golden run");
	CHECK_EQ_U64(s.golden.final.final.regs.rflags & RFLAGS_TF, 0);
	observation_init(&obs, &s.lay);
	for (size_t i = 0; i < s.golden.trace.n; i++) {
		const struct boundary *b = &s.golden.trace.b[i];
		CHECK_EQ_U64(
			b->snap.state.regs.rflags & (RFLAGS_TF | RFLAGS_RF), 0);
		CHECK_EQ_U64(trial_run(vm, &s.img, &s.lay, b, &nmi,
				       TRIAL_TIMEOUT_MS, &obs, why,
				       sizeof(why)),
			     0);
		CHECK_EQ_U64(obs.end, RUN_DONE);
		check_no_tf_rf(&obs.log, "trial");
		CHECK_EQ_U64(obs.final.regs.rflags & RFLAGS_TF, 0);
	}
	observation_free(&obs);
	stub_sweep_free(&s);
}

/* Verdicts of a depth-1 sweep: passes are counted, the rest recorded. */
static void count_kinds(const struct stub_sweep *s, size_t *counts)
{
	memset(counts, 0, sizeof(size_t) * VERDICT_KIND_COUNT);
	counts[VERDICT_PASS] = s->counts[0].passed;
	for (size_t i = 0; i < s->nrecords; i++)
		counts[s->records[i].verdict.kind]++;
}

/* Shutdowns come first in the trace (the SYSCALL gap), passes after them:
 * every pass here ran on a vCPU that had just triple-faulted. */
static void test_triple_fault_is_a_verdict(struct vm *vm)
{
	size_t counts[VERDICT_KIND_COUNT];
	struct stub_sweep s;

	if (sweep(vm, IST_TEST_GUEST_DIR, "triple-fault", &s)) {
		CHECK(!"triple-fault sweeps");
		return;
	}
	count_kinds(&s, counts);
	CHECK_EQ_U64(counts[VERDICT_SHUTDOWN],
		     3 * IST_SYSCALL_COUNT + 2 * IST_SYSCALL_COUNT);
	CHECK(counts[VERDICT_PASS] > 30);
	CHECK_EQ_U64(counts[VERDICT_PASS] + counts[VERDICT_SHUTDOWN],
		     s.counts[0].schedules);
	/* The first boundary of the trace shut down; passes came after. */
	CHECK(s.nrecords > 0 &&
	      s.records[0].sched.step[0].addr == s.golden.trace.b[0].addr);
	CHECK_EQ_U64(s.not_as_declared, 0);
	stub_sweep_free(&s);
}

static void test_hang_is_a_verdict(struct vm *vm)
{
	size_t counts[VERDICT_KIND_COUNT], timed = 0, looped = 0;
	uint64_t spin = 0;
	struct stub_sweep s;
	unsigned saved = options.timeout_ms;

	options.timeout_ms = 200;
	if (sweep(vm, IST_TEST_GUEST_DIR, "hang", &s)) {
		CHECK(!"hang sweeps");
		options.timeout_ms = saved;
		return;
	}
	options.timeout_ms = saved;
	count_kinds(&s, counts);
	CHECK_EQ_U64(counts[VERDICT_HANG], 3 * IST_SYSCALL_COUNT);
	CHECK_EQ_U64(counts[VERDICT_INVARIANT], IST_SYSCALL_COUNT);
	CHECK_EQ_U64(s.not_as_declared, 0);
	CHECK(image_parse_addr(&s.img, "hang_spin", &spin) == 0);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct verdict *v = &s.records[i].verdict;

		if (v->kind != VERDICT_HANG)
			continue;
		/* At SWAPGS it counts: only the clock ends it. Elsewhere
		 * its state repeats at hang_spin: called at once. */
		if (s.records[i].sched.step[0].addr == s.lay.entry_syscall) {
			timed++;
			CHECK(strstr(v->summary, "200 ms") != NULL);
			CHECK_EQ_U64(v->fault_rip, 0);
		} else {
			looped++;
			CHECK(strstr(v->summary, "loops") != NULL);
			CHECK_EQ_U64(v->fault_rip, spin);
		}
	}
	CHECK_EQ_U64(timed, IST_SYSCALL_COUNT);
	CHECK_EQ_U64(looped, 2 * IST_SYSCALL_COUNT);
	stub_sweep_free(&s);
}

/* With the records full, a result the stub did not declare takes the
 * place of one it did: misdeclared (linux with a wrong EXPECT at
 * entry_SYSCALL_64+0x0) at depth 2, #DB > #DB into the #DB handler, keeps
 * three records: its first undeclared pass, then outside-assumption
 * #DB > #DB records until the cap, which the next two undeclared passes
 * (executions #2 and #3) displace. */
static void test_undeclared_results_are_kept(struct vm *vm)
{
	struct sweep_options o = narrowed(
		vm, 2, 1u << EVENT_DB, "entry_SYSCALL_64+0x0 > asm_exc_debug");
	struct stub_sweep s;

	o.exec = 0; /* all three system calls */
	o.max_records = 3;
	if (sweep_with(vm, IST_TEST_GUEST_DIR, "misdeclared", &o, &s)) {
		CHECK(!"misdeclared sweeps");
		return;
	}
	CHECK_EQ_U64(s.not_as_declared, 2 * IST_SYSCALL_COUNT);
	CHECK(s.counts[1].outside > 3);
	CHECK_EQ_U64(s.nrecords, 3);
	CHECK(s.dropped_records > 0);
	for (size_t i = 0; i < s.nrecords; i++) {
		CHECK(!s.records[i].as_declared);
		CHECK_EQ_U64(s.records[i].verdict.kind, VERDICT_PASS);
	}
	stub_sweep_free(&s);
}

static void test_wrong_declaration_is_reported(struct vm *vm)
{
	struct stub_sweep s;

	if (sweep(vm, IST_TEST_GUEST_DIR, "misdeclared", &s)) {
		CHECK(!"misdeclared sweeps");
		return;
	}
	/* A declaration covers every execution of its addresses. */
	CHECK_EQ_U64(s.counts[0].failed, 0);
	CHECK_EQ_U64(s.not_as_declared, IST_SYSCALL_COUNT);
	stub_sweep_free(&s);
}

/* naive-ist, #MC inside its own #MC handler (depth 2, one first #MC at
 * entry_SYSCALL_64_after_hwframe+0x0): before the body clears MCIP the
 * second #MC is an architectural shutdown (24 boundaries: the gate to the
 * CALL of the body); after it, up to and including the IRETQ, it rewinds
 * IST 4 over the outer frame and the outer #MC never returns (19
 * boundaries, asserted by name); once the handler returned it passes. */
static void test_naive_ist_mc_reentry(struct vm *vm)
{
	static const char *const clobbered[] = {
		"+0x37", "+0x39", "+0x3e", "+0x40", "+0x42", "+0x44", "+0x46",
		"+0x47", "+0x48", "+0x4a", "+0x4c", "+0x4e", "+0x50", "+0x51",
		"+0x52", "+0x53", "+0x54", "+0x55", "+0x59",
	};
	struct sweep_options o = narrowed(vm, 2, 1u << EVENT_MC,
					  "entry_SYSCALL_64_after_hwframe+0x0");
	struct stub_sweep s;
	size_t n = sizeof(clobbered) / sizeof(clobbered[0]);
	int seen[sizeof(clobbered) / sizeof(clobbered[0])] = {0};

	if (sweep_with(vm, IST_GUEST_DIR, "naive-ist", &o, &s)) {
		CHECK(!"naive-ist sweeps");
		return;
	}
	CHECK_EQ_U64(s.counts[0].schedules, 1);
	CHECK_EQ_U64(s.counts[0].passed, 1);
	CHECK_EQ_U64(s.counts[1].arch_shutdown, 24);
	CHECK_EQ_U64(s.counts[1].failed, n);
	CHECK_EQ_U64(s.counts[1].passed, 1);
	CHECK_EQ_U64(s.counts[1].harness_errors, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	CHECK_EQ_U64(s.nrecords, n);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct sweep_record *r = &s.records[i];
		char name[200], want[64];
		int found = 0;

		CHECK_EQ_U64(r->sched.depth, 2);
		CHECK(r->reentry);
		CHECK(r->verdict.kind != VERDICT_PASS);
		image_format_addr(&s.img, r->sched.step[1].addr, name,
				  sizeof(name));
		for (size_t k = 0; k < n; k++) {
			snprintf(want, sizeof(want), "asm_exc_machine_check%s",
				 clobbered[k]);
			if (!strcmp(name, want)) {
				found = 1;
				seen[k]++;
			}
		}
		if (!found)
			fprintf(stderr, "  unexpected failure at %s\n", name);
		CHECK(found);
	}
	for (size_t k = 0; k < n; k++)
		CHECK_EQ_U64(seen[k], 1);
	stub_sweep_free(&s);
}

/* linux at depth 2 with NMI, #DB and #MC at both levels, the first event
 * at entry_SYSCALL_64_after_hwframe+0x0 #1 and the second at every
 * boundary of the handler that follows: nothing fails inside its
 * assumptions, nothing is a harness error; a #MC inside the #MC handler
 * before MCIP clears is an architectural shutdown, and a #DB in entry text
 * breaks the assumption Linux declares (reported apart). */
static void test_linux_depth2_all_events(struct vm *vm)
{
	struct sweep_options o = narrowed(vm, 2, ALL_EVENTS,
					  "entry_SYSCALL_64_after_hwframe+0x0");
	struct stub_sweep s;

	if (sweep_with(vm, IST_GUEST_DIR, "linux", &o, &s)) {
		CHECK(!"linux sweeps at depth 2");
		return;
	}
	CHECK_EQ_U64(s.counts[0].schedules, 3);
	CHECK_EQ_U64(s.counts[0].passed, 3);
	CHECK(s.counts[1].schedules > 300);
	CHECK_EQ_U64(s.counts[1].failed, 0);
	CHECK_EQ_U64(s.counts[1].harness_errors, 0);
	CHECK(s.counts[1].arch_shutdown > 0);
	CHECK(s.counts[1].outside > 0);
	CHECK(s.counts[1].passed > s.counts[1].schedules / 2);
	CHECK_EQ_U64(s.not_as_declared, 0);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct sweep_record *r = &s.records[i];
		int db = r->sched.step[0].inj.kind == EVENT_DB ||
			 r->sched.step[1].inj.kind == EVENT_DB;
		int mc_in_mc = r->sched.step[0].inj.kind == EVENT_MC &&
			       r->sched.step[1].inj.kind == EVENT_MC;

		CHECK(r->assumption != NULL);
		CHECK(db || mc_in_mc);
	}
	stub_sweep_free(&s);
}

/* naive-ist, #DB inside its own #DB handler (depth 2, the first #DB at
 * entry_SYSCALL_64_after_hwframe+0x0): at every boundary of asm_exc_debug
 * up to and including its IRETQ (43) the second #DB rewinds IST 3 over the
 * outer frame, and the outer #DB never returns where it struck; once the
 * handler returned (1) it passes. A hang shows the rewound frame: the CPU's
 * frame at the top of the stack names the second boundary, not the
 * first. (The second #DB's body then runs over and over, until the log
 * is full: double-handled or hang.) A #DB by the guest's DR0 cannot be
 * raised once on the gate itself (it refires on its own delivery): that
 * one schedule is not run where the back end has no payload (QEMU). */
static void test_naive_ist_db_reentry(struct vm *vm)
{
	struct sweep_options o = narrowed(vm, 2, 1u << EVENT_DB,
					  "entry_SYSCALL_64_after_hwframe+0x0");
	struct stub_sweep s;
	uint64_t lo, hi;

	/* Every failure is a loop that never ends: keep the waits short. */
	o.timeout_ms = 200;
	if (sweep_with(vm, IST_GUEST_DIR, "naive-ist", &o, &s)) {
		CHECK(!"naive-ist sweeps");
		return;
	}
	CHECK(image_parse_addr(&s.img, "asm_exc_debug", &lo) == 0);
	CHECK(image_parse_addr(&s.img, "asm_exc_debug+0x59", &hi) == 0);
	CHECK_EQ_U64(s.counts[0].schedules, 1);
	CHECK_EQ_U64(s.counts[0].passed, 1);
	CHECK_EQ_U64(s.counts[1].unraisable, o.db_method == DB_BY_GUEST_DR);
	CHECK_EQ_U64(s.counts[1].failed, 43 - s.counts[1].unraisable);
	CHECK_EQ_U64(s.counts[1].passed, 1);
	CHECK_EQ_U64(s.counts[1].harness_errors, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	CHECK_EQ_U64(s.nrecords, s.counts[1].failed);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct sweep_record *r = &s.records[i];
		const struct field_diff *d =
			verdict_field(&r->verdict, "db.frame_at_ist_top.rip");

		CHECK_EQ_U64(r->sched.depth, 2);
		CHECK(r->reentry);
		CHECK(r->sched.step[1].addr >= lo &&
		      r->sched.step[1].addr <= hi);
		if (r->verdict.kind != VERDICT_HANG)
			continue;
		CHECK(d != NULL);
		if (d) {
			CHECK_EQ_U64(d->expected, r->sched.step[0].addr);
			CHECK_EQ_U64(d->observed, r->sched.step[1].addr);
		}
	}
	stub_sweep_free(&s);
}

/* nmi-unmask (depth 2, NMI > NMI, the first at
 * entry_SYSCALL_64_after_hwframe+0x0): its IRET to self unblocks NMIs on
 * the NMI stack, so a second NMI anywhere in the handler before its final
 * IRETQ re-enters it and fails; before the IRET to self the second NMI is
 * latched and lands right after it, at nmi_unmasked. Only the boundary
 * after the final IRETQ passes. */
static void test_nmi_unmask_reentry(struct vm *vm)
{
	struct sweep_options o = narrowed(vm, 2, 1u << EVENT_NMI,
					  "entry_SYSCALL_64_after_hwframe+0x0");
	struct stub_sweep s;
	uint64_t gate, unmasked;
	size_t held = 0;

	if (sweep_with(vm, IST_GUEST_DIR, "nmi-unmask", &o, &s)) {
		CHECK(!"nmi-unmask sweeps");
		return;
	}
	CHECK(image_parse_addr(&s.img, "asm_exc_nmi", &gate) == 0);
	CHECK(image_parse_addr(&s.img, "nmi_unmasked", &unmasked) == 0);
	CHECK_EQ_U64(s.counts[0].passed, 1);
	CHECK(s.counts[1].schedules > 30);
	CHECK_EQ_U64(s.counts[1].passed, 1);
	CHECK_EQ_U64(s.counts[1].failed, s.counts[1].schedules - 1);
	CHECK_EQ_U64(s.counts[1].harness_errors, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct schedule_step *second =
			&s.records[i].sched.step[1];

		CHECK(s.records[i].reentry);
		CHECK(second->addr >= gate);
		if (second->addr < unmasked) {
			held++;
			CHECK_EQ_U64(second->delivered_addr, unmasked);
		} else {
			CHECK_EQ_U64(second->delivered_addr, second->addr);
		}
	}
	CHECK(held > 10);
	stub_sweep_free(&s);
}

/* fixup-table and fixup-table-drifted at depth 2, NMI > NMI, the first at
 * entry_SYSCALL_64_after_hwframe+0x0: the right table passes every
 * schedule; the drifted one fails exactly where the second NMI lands on an
 * instruction whose table entry disagrees with the decode, and the failing
 * body's frame is the outer's, one slot off. */
static void test_fixup_tables(struct vm *vm)
{
	struct sweep_options o = narrowed(vm, 2, 1u << EVENT_NMI,
					  "entry_SYSCALL_64_after_hwframe+0x0");
	struct stub_sweep s;
	size_t failed = 0;

	if (sweep_with(vm, IST_GUEST_DIR, "fixup-table", &o, &s)) {
		CHECK(!"fixup-table sweeps");
		return;
	}
	CHECK(s.counts[1].schedules > 40);
	CHECK_EQ_U64(s.counts[1].passed, s.counts[1].schedules);
	CHECK_EQ_U64(s.fixup.nmismatches, 0);
	stub_sweep_free(&s);

	if (sweep_with(vm, IST_GUEST_DIR, "fixup-table-drifted", &o, &s)) {
		CHECK(!"fixup-table-drifted sweeps");
		return;
	}
	CHECK_EQ_U64(s.counts[0].passed, 1);
	CHECK_EQ_U64(s.counts[1].failed, 3);
	CHECK_EQ_U64(s.counts[1].harness_errors, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	CHECK_EQ_U64(s.fixup.nmismatches, 3);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct schedule_step *second =
			&s.records[i].sched.step[1];
		int drifted = 0;

		for (int k = 0; k < s.fixup.ninsns; k++)
			drifted |= s.fixup.insns[k].addr ==
					   second->delivered_addr &&
				   s.fixup.insns[k].table !=
					   s.fixup.insns[k].derived;
		CHECK(drifted);
		CHECK(verdict_field(&s.records[i].verdict, "nmi#2.frame.rip") !=
		      NULL);
		failed++;
	}
	CHECK_EQ_U64(failed, 3);
	stub_sweep_free(&s);
}

/* nmi-no-ist: its NMI gate has no IST slot, so at CPL0 on the user's RSP
 * (SYSCALL entry before the stack switch, exit after the user's RSP is
 * back) the NMI runs on the user's stack: invariant there, at exactly
 * those five boundaries of each system call, and pass elsewhere. */
static void test_nmi_no_ist(struct vm *vm)
{
	static const char *const user_rsp[] = {
		"entry_SYSCALL_64+0x0",
		"entry_SYSCALL_64+0x3",
		"entry_SYSCALL_64+0xc",
		"entry_SYSRETQ_unsafe_stack+0x0",
		"entry_SYSRETQ_unsafe_stack+0x3",
	};
	size_t n = sizeof(user_rsp) / sizeof(user_rsp[0]);
	struct stub_sweep s;

	if (sweep(vm, IST_GUEST_DIR, "nmi-no-ist", &s)) {
		CHECK(!"nmi-no-ist sweeps");
		return;
	}
	CHECK_EQ_U64(s.lay.gate_ist_nmi, 0);
	CHECK_EQ_U64(s.counts[0].failed, n * IST_SYSCALL_COUNT);
	CHECK_EQ_U64(s.counts[0].passed,
		     s.counts[0].schedules - n * IST_SYSCALL_COUNT);
	CHECK_EQ_U64(s.not_as_declared, 0);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct sweep_record *r = &s.records[i];
		const struct field_diff *d =
			verdict_field(&r->verdict, "nmi.rsp (a kernel stack)");
		char name[200];

		image_format_addr(&s.img, r->sched.step[0].addr, name,
				  sizeof(name));
		CHECK(name_in(name, user_rsp, n));
		CHECK_EQ_U64(r->verdict.kind, VERDICT_INVARIANT);
		CHECK(d != NULL);
		if (d)
			CHECK(d->observed <
			      s.lay.user_rw_gpa + s.lay.user_rw_len);
	}
	stub_sweep_free(&s);
}

/* The symbol a boundary is named after, for window checks. */
static const char *symbol_of(const struct stub_sweep *s, uint64_t addr)
{
	const struct guest_symbol *sym = image_symbol_at(&s->img, addr);

	return sym ? sym->name : "?";
}

/* percpu-kstack: NMI at depth 1, every boundary. Fails at exactly its
 * windows, 23 boundaries per system call: the body on the TCB (invariant)
 * right after the count and through the return's POP_REGS, the user's
 * stack written (state-mismatch) in the SYSCALL gap and after the return
 * loaded the user's RSP. Its fix passes every NMI and #MC at depth 1, and
 * a depth-2 sweep from the boundary where the bug shows. */
static void test_percpu_kstack(struct vm *vm)
{
	struct sweep_options o =
		narrowed(vm, 2, 1u << EVENT_NMI | 1u << EVENT_MC,
			 "entry_SYSCALL_64_counted+0x0");
	size_t mismatch = 0, invariant = 0;
	struct stub_sweep s;

	if (sweep(vm, IST_GUEST_DIR, "percpu-kstack", &s)) {
		CHECK(!"percpu-kstack sweeps");
		return;
	}
	CHECK_EQ_U64(s.counts[0].failed, 23 * IST_SYSCALL_COUNT);
	CHECK_EQ_U64(s.counts[0].passed,
		     s.counts[0].schedules - 23 * IST_SYSCALL_COUNT);
	CHECK_EQ_U64(s.not_as_declared, 0);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct sweep_record *r = &s.records[i];
		const char *sym = symbol_of(&s, r->sched.step[0].addr);

		if (r->verdict.kind == VERDICT_INVARIANT) {
			invariant++;
			CHECK(!strcmp(sym, "entry_SYSCALL_64_counted") ||
			      !strcmp(sym, "syscall_return_in_tcb"));
			CHECK(verdict_field(&r->verdict,
					    "nmi.rsp (stack [lo,hi))") != NULL);
		} else {
			mismatch++;
			CHECK_EQ_U64(r->verdict.kind, VERDICT_STATE_MISMATCH);
			CHECK(!strcmp(sym, "entry_SYSCALL_64") ||
			      !strcmp(sym, "syscall_return_user_rsp"));
		}
	}
	CHECK_EQ_U64(invariant, 18 * IST_SYSCALL_COUNT);
	CHECK_EQ_U64(mismatch, 5 * IST_SYSCALL_COUNT);
	stub_sweep_free(&s);

	if (sweep(vm, IST_GUEST_DIR, "percpu-kstack-ist", &s)) {
		CHECK(!"percpu-kstack-ist sweeps");
		return;
	}
	CHECK_EQ_U64(s.counts[0].passed, s.counts[0].schedules);
	CHECK_EQ_U64(s.counts[0].schedules, s.golden.trace.n);
	stub_sweep_free(&s);
	if (sweep_with(vm, IST_GUEST_DIR, "percpu-kstack-ist", &o, &s)) {
		CHECK(!"percpu-kstack-ist sweeps at depth 2");
		return;
	}
	CHECK_EQ_U64(s.counts[0].passed, 2);
	CHECK(s.counts[1].schedules > 40);
	CHECK_EQ_U64(s.counts[1].failed, 0);
	CHECK_EQ_U64(s.counts[1].harness_errors, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	stub_sweep_free(&s);
}

/* The sti pair, depth 1, interrupts only. sti-padded: at each system call
 * two interrupts, one raised in the STI shadow (held one instruction) and
 * one at SYSRETQ, both taken at SYSRETQ and failing there (the body on the
 * user's stack and GS). sti-shadow: the only boundary with IF=1 is SYSRETQ,
 * in the shadow: each interrupt is held past the trace, none runs. */
static void test_sti_pair(struct vm *vm)
{
	struct sweep_options o = narrowed(vm, 1, 1u << EVENT_IRQ, NULL);
	uint64_t sysretq = 0;
	struct stub_sweep s;

	if (!(vm_features(vm) & VM_CAN_IRQ)) {
		CHECK(!"the back end raises interrupts");
		return;
	}
	o.exec = 0;
	if (sweep_with(vm, IST_GUEST_DIR, "sti-padded", &o, &s)) {
		CHECK(!"sti-padded sweeps");
		return;
	}
	CHECK(image_symbol_addr(&s.img, "syscall_sysretq", &sysretq) == 0);
	CHECK_EQ_U64(s.counts[0].schedules, 2 * IST_SYSCALL_COUNT);
	CHECK_EQ_U64(s.counts[0].failed, 2 * IST_SYSCALL_COUNT);
	CHECK_EQ_U64(s.counts[0].harness_errors, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct sweep_record *r = &s.records[i];

		CHECK_EQ_U64(r->verdict.kind, VERDICT_INVARIANT);
		CHECK_EQ_U64(r->sched.step[0].delivered_addr, sysretq);
		CHECK(verdict_field(&r->verdict, "irq.gs_base") != NULL);
		CHECK(verdict_field(&r->verdict, "irq.rsp (a kernel stack)") !=
		      NULL);
	}
	stub_sweep_free(&s);

	if (sweep_with(vm, IST_GUEST_DIR, "sti-shadow", &o, &s)) {
		CHECK(!"sti-shadow sweeps");
		return;
	}
	CHECK_EQ_U64(s.counts[0].schedules, 0);
	CHECK_EQ_U64(s.counts[0].held_out, IST_SYSCALL_COUNT);
	CHECK_EQ_U64(s.not_as_declared, 0);
	stub_sweep_free(&s);
}

/* The activation pair, interrupts to depth 2, on a back end that stops at
 * CPL3. Depth 1: an interrupt at each of the workload's 11 boundaries with
 * IF=1, all pass. Depth 2, activation: a second interrupt at each of the
 * restore's 20 boundaries before upcall_done (6 pushes, 14 loads) fails,
 * the ones after pass; activation-chained passes them all. */
static void test_activation_pair(struct vm *vm)
{
	struct sweep_options o = narrowed(vm, 2, 1u << EVENT_IRQ, NULL);
	uint64_t upcall = 0, done = 0;
	struct stub_sweep s;

	if (!(vm_features(vm) & VM_CAN_STEP_USER)) {
		printf("SKIP activation pair: %s cannot stop at CPL3\n",
		       vm_backend(vm));
		return;
	}
	o.exec = 0;
	if (sweep_with(vm, IST_GUEST_DIR, "activation", &o, &s)) {
		CHECK(!"activation sweeps");
		return;
	}
	CHECK(image_symbol_addr(&s.img, "upcall", &upcall) == 0);
	CHECK(image_symbol_addr(&s.img, "upcall_done", &done) == 0);
	CHECK_EQ_U64(s.counts[0].schedules, 11);
	CHECK_EQ_U64(s.counts[0].passed, 11);
	CHECK_EQ_U64(s.counts[1].failed, 11 * 20);
	CHECK_EQ_U64(s.counts[1].harness_errors, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct schedule_step *st = &s.records[i].sched.step[1];

		CHECK_EQ_U64(s.records[i].sched.depth, 2);
		CHECK(st->delivered_addr >= upcall &&
		      st->delivered_addr < done);
	}
	stub_sweep_free(&s);

	if (sweep_with(vm, IST_GUEST_DIR, "activation-chained", &o, &s)) {
		CHECK(!"activation-chained sweeps");
		return;
	}
	CHECK_EQ_U64(s.counts[0].passed, 11);
	CHECK(s.counts[1].schedules >= 11 * 20);
	CHECK_EQ_U64(s.counts[1].passed, s.counts[1].schedules);
	stub_sweep_free(&s);
}

/* scribble: an NMI at the SYSCALL entry's first instruction overwrites the
 * workload's code. That trial fails; every later one still passes (but in
 * the exit window, which its plain entry declares), because a restore
 * puts back code that differs from the image. */
static void test_code_is_restored(struct vm *vm)
{
	struct stub_sweep s;

	if (sweep(vm, IST_TEST_GUEST_DIR, "scribble", &s)) {
		CHECK(!"scribble sweeps");
		return;
	}
	CHECK_EQ_U64(s.counts[0].failed, 2 * IST_SYSCALL_COUNT);
	CHECK_EQ_U64(s.counts[0].passed,
		     s.counts[0].schedules - 2 * IST_SYSCALL_COUNT);
	CHECK_EQ_U64(s.not_as_declared, 0);
	stub_sweep_free(&s);
}

/* The guest's own watchpoint on the MOV SS operand, armed before the MOV
 * SS runs. Where the back end holds its trap as hardware does, the sweep
 * uses it (test_movss_db checks the verdicts either way). On QEMU, which
 * raises it before the SYSCALL, the landing check must catch that as a
 * harness error naming both places, never as the stub's failure. kvm_pvm
 * never fires it. */
static void check_real_watchpoint(struct vm *vm, const struct stub_sweep *s)
{
	const struct boundary *at = NULL;
	struct observation obs;
	struct injection inj;
	char why[400] = "";

	if ((vm_features(vm) & VM_DATA_BP_HELD) ||
	    strncmp(vm_backend(vm), "qemu", 4))
		return;
	for (size_t i = 0; i < s->golden.trace.n && !at; i++)
		if (s->golden.trace.b[i].ss_watch.from)
			at = &s->golden.trace.b[i];
	if (!at || observation_init(&obs, &s->lay)) {
		CHECK(!"a boundary with a MOV SS watch, an observation");
		return;
	}
	injection_default(&inj, EVENT_DB);
	inj.db_method = DB_BY_GUEST_DR;
	inj.db_cause = DB_DATA_BREAKPOINT;
	inj.db_watch_from = at->ss_watch.from;
	inj.db_watch_addr = at->ss_watch.addr;
	inj.db_held = 1;
	inj.db_arm_watch = 1;
	CHECK_EQ_U64(trial_run(vm, &s->img, &s->lay, at, &inj, TRIAL_TIMEOUT_MS,
			       &obs, why, sizeof(why)),
		     -1);
	CHECK(strstr(why, "delivered at workload_syscalls+0x") != NULL);
	CHECK(strstr(why, "not at entry_SYSCALL_64+0x0") != NULL);
	printf("QEMU's own watchpoint: %s\n", why);
	observation_free(&obs);
}

/* movss-db (CVE-2018-8897): every boundary with a #DB, depth 1. The golden
 * trace names the MOV SS before each SYSCALL on the entry's first boundary;
 * that data breakpoint's #DB fails there (the body on the user's stack and
 * GS), once per system call, as declared; instruction breakpoints that
 * fail are outside its assumption. linux passes the same #DBs. */
static void test_movss_db(struct vm *vm)
{
	struct sweep_options o = narrowed(vm, 1, 1u << EVENT_DB, NULL);
	uint64_t operand = 0;
	struct stub_sweep s;
	size_t data = 0;

	o.exec = 0;
	if (sweep_with(vm, IST_GUEST_DIR, "movss-db", &o, &s)) {
		CHECK(!"movss-db sweeps");
		return;
	}
	CHECK(image_symbol_addr(&s.img, "user_ss_value", &operand) == 0);
	for (size_t i = 0; i < s.golden.trace.n; i++) {
		const struct boundary *b = &s.golden.trace.b[i];

		CHECK_EQ_U64(b->ss_watch.from != 0,
			     b->addr == s.lay.entry_syscall);
		if (!b->ss_watch.from)
			continue;
		CHECK_EQ_U64(b->ss_watch.addr, operand);
		/* Armable before the MOV SS: the first system call from the
		 * golden run's start, the others from the SYSRETQ before. */
		CHECK(b->ss_watch.arm != NULL);
		if (b->exec == 1)
			CHECK(b->ss_watch.arm == &s.golden.trace.start);
		else if (b->ss_watch.arm)
			CHECK(b->ss_watch.arm == &b[-1].snap);
	}
	check_real_watchpoint(vm, &s);
	CHECK_EQ_U64(s.counts[0].failed, IST_SYSCALL_COUNT);
	CHECK(s.counts[0].outside > 0);
	CHECK_EQ_U64(s.counts[0].harness_errors, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct sweep_record *r = &s.records[i];
		const struct injection *inj = &r->sched.step[0].inj;

		CHECK_EQ_U64(r->verdict.kind, VERDICT_INVARIANT);
		if (r->assumption) {
			CHECK_EQ_U64(inj->db_cause, DB_INSN_BREAKPOINT);
			continue;
		}
		data++;
		CHECK_EQ_U64(inj->db_cause, DB_DATA_BREAKPOINT);
		CHECK_EQ_U64(inj->db_watch_addr, operand);
		CHECK_EQ_U64(r->sched.step[0].addr, s.lay.entry_syscall);
		CHECK(verdict_field(&r->verdict, "db.gs_base") != NULL);
		CHECK(verdict_field(&r->verdict, "db.rsp (a kernel stack)") !=
		      NULL);
	}
	CHECK_EQ_U64(data, IST_SYSCALL_COUNT);
	stub_sweep_free(&s);

	/* Hardware KVM: the guest's own watchpoint raises the same #DBs, and
	 * they get the same verdicts as the payload's. */
	if (vm_features(vm) & VM_DATA_BP_HELD) {
		struct sweep_options by_dr = o;

		by_dr.db_method = DB_BY_GUEST_DR;
		if (sweep_with(vm, IST_GUEST_DIR, "movss-db", &by_dr, &s)) {
			CHECK(!"movss-db sweeps by the guest's DRs");
			return;
		}
		CHECK_EQ_U64(s.counts[0].failed, IST_SYSCALL_COUNT);
		CHECK_EQ_U64(s.counts[0].harness_errors, 0);
		CHECK_EQ_U64(s.not_as_declared, 0);
		stub_sweep_free(&s);
	}

	/* Linux's #DB is on IST and paranoid: the same #DBs pass. */
	o.at = "entry_SYSCALL_64+0x0";
	if (sweep_with(vm, IST_GUEST_DIR, "linux", &o, &s)) {
		CHECK(!"linux sweeps");
		return;
	}
	CHECK_EQ_U64(s.counts[0].schedules, 2 * IST_SYSCALL_COUNT);
	CHECK_EQ_U64(s.counts[0].passed, 2 * IST_SYSCALL_COUNT);
	stub_sweep_free(&s);
}

/* atomic-ist at depth 2 with all three events, the first at
 * entry_SYSCALL_64_after_hwframe+0x0: an event inside another's entry
 * before its commit sees that entry parked at its commit label (the
 * commit-point rule), and nothing fails inside the stub's assumption; and
 * at depth 3, NMI > #MC in the NMI entry > NMI, the schedule that breaks
 * Linux's prologue, passes everywhere: no IRET lands inside an entry. */
static void test_atomic_ist(struct vm *vm)
{
	struct sweep_options o = narrowed(vm, 2, ALL_EVENTS,
					  "entry_SYSCALL_64_after_hwframe+0x0");
	struct stub_sweep s;

	if (sweep_with(vm, IST_GUEST_DIR, "atomic-ist", &o, &s)) {
		CHECK(!"atomic-ist sweeps at depth 2");
		return;
	}
	CHECK_EQ_U64(s.counts[0].passed, 3);
	CHECK(s.counts[1].schedules > 300);
	CHECK_EQ_U64(s.counts[1].failed, 0);
	CHECK_EQ_U64(s.counts[1].harness_errors, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	CHECK_EQ_U64(s.counts[1].passed + s.counts[1].arch_shutdown +
			     s.counts[1].outside,
		     s.counts[1].schedules);
	/* The #DB and #MC delivered inside the NMI entry before its commit
	 * are among the passes: judged by the plain frame rule they fail as
	 * frame-mismatch (RIP commit_nmi, GPRs 0, RSP = RAX on the main
	 * stack), so failed == 0 is the commit-point rule at work. */
	for (size_t i = 0; i < s.nrecords; i++)
		CHECK(s.records[i].assumption != NULL);
	stub_sweep_free(&s);

	if (sweep_nmi_x_nmi(vm, "atomic-ist", EVENT_MC, "asm_exc_nmi+0x1",
			    &s)) {
		CHECK(!"atomic-ist sweeps at depth 3");
		return;
	}
	CHECK_EQ_U64(s.counts[1].passed, 1);
	CHECK(s.counts[2].schedules > 30);
	CHECK_EQ_U64(s.counts[2].passed, s.counts[2].schedules);
	stub_sweep_free(&s);
}

/* A depth-3 sweep of NMI > middle > NMI, the first NMI at
 * entry_SYSCALL_64_after_hwframe+0x0 #1 and the middle event (#MC or #DB)
 * at middle_at inside the NMI handler; the third NMI is tried at every
 * boundary of the middle event's handler. */
static int sweep_nmi_x_nmi(struct vm *vm, const char *stub,
			   enum event_kind middle, const char *middle_at,
			   struct stub_sweep *s)
{
	char at[160];
	struct sweep_options o;

	snprintf(at, sizeof(at), "entry_SYSCALL_64_after_hwframe+0x0 > %s",
		 middle_at);
	o = narrowed(vm, 3, 1u << EVENT_NMI, at);
	o.events[1] = 1u << middle;
	/* A rewound handler may loop without end: keep the waits short. */
	o.timeout_ms = 200;
	return sweep_with(vm, IST_GUEST_DIR, stub, &o, s);
}

/* naive-ist: the #MC's (or #DB's) IRETQ unblocks NMIs inside the NMI
 * handler, so the third NMI, held while that handler runs, lands where it
 * returned and rewinds the NMI stack over the outer NMI's frame: every one
 * fails, and the outer NMI's body shows the rewound frame. */
static void test_naive_ist_nmi_x_nmi(struct vm *vm, enum event_kind middle)
{
	struct stub_sweep s;
	uint64_t landed;

	if (sweep_nmi_x_nmi(vm, "naive-ist", middle, "asm_exc_nmi+0x1", &s)) {
		CHECK(!"naive-ist sweeps at depth 3");
		return;
	}
	CHECK(image_parse_addr(&s.img, "asm_exc_nmi+0x1", &landed) == 0);
	CHECK_EQ_U64(s.counts[0].passed, 1);
	CHECK_EQ_U64(s.counts[1].passed, 1);
	CHECK(s.counts[2].schedules > 30);
	CHECK_EQ_U64(s.counts[2].failed, s.counts[2].schedules);
	CHECK_EQ_U64(s.counts[2].harness_errors, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct sweep_record *r = &s.records[i];
		CHECK_EQ_U64(r->sched.depth, 3);
		CHECK(r->reentry);
		CHECK_EQ_U64(r->sched.step[2].delivered_addr, landed);
		CHECK_EQ_U64(r->verdict.kind, VERDICT_DOUBLE_HANDLED);
		CHECK(verdict_field(&r->verdict, "nmi.frame.rip") != NULL);
	}
	stub_sweep_free(&s);
}

/* linux (ist-designs.md A.3): past first_nmi's copy, a nested NMI makes
 * the outer one repeat its body with its own context, and every schedule
 * passes under the NMI_REPEAT frame rule; inside the prologue the third NMI
 * runs as a first NMI over the outer's frames: the known hole, which the
 * stub reproduces faithfully, and which breaks its declared assumption
 * that nothing faults or IRETs inside an NMI prologue: every such failure
 * is reported apart, none as the stub's. */
static void test_linux_nmi_mc_nmi(struct vm *vm)
{
	/* repeat_nmi: the third NMI returns at once, covered by the repeat
	 * about to run (coalesced); after it, it redirects the outer IRETQ
	 * into one more repeat. */
	static const char *const repeated[] = {
		"repeat_nmi", "end_repeat_nmi+0x0", "nmi_restore+0x0"};
	struct stub_sweep s;

	for (size_t k = 0; k < sizeof(repeated) / sizeof(repeated[0]); k++) {
		if (sweep_nmi_x_nmi(vm, "linux", EVENT_MC, repeated[k], &s)) {
			CHECK(!"linux sweeps at depth 3");
			return;
		}
		CHECK(s.counts[2].schedules > 30);
		CHECK_EQ_U64(s.counts[2].passed, s.counts[2].schedules);
		stub_sweep_free(&s);
	}
	if (sweep_nmi_x_nmi(vm, "linux", EVENT_MC, "asm_exc_nmi+0x1", &s)) {
		CHECK(!"linux sweeps at depth 3");
		return;
	}
	CHECK(s.counts[2].schedules > 30);
	CHECK_EQ_U64(s.counts[2].outside, s.counts[2].schedules);
	CHECK_EQ_U64(s.counts[2].failed, 0);
	CHECK_EQ_U64(s.counts[2].harness_errors, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	CHECK_EQ_U64(s.nrecords, s.counts[2].schedules);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct ist_assume *a = s.records[i].assumption;
		CHECK(a != NULL);
		if (a)
			CHECK(strstr(a->text, "NMI prologue") != NULL);
	}
	stub_sweep_free(&s);
}

static void test_golden_run_is_deterministic(struct vm *vm)
{
	struct stub_sweep a, b;

	if (sweep(vm, IST_GUEST_DIR, "linux", &a) ||
	    sweep(vm, IST_GUEST_DIR, "linux", &b)) {
		CHECK(!"linux sweeps twice");
		return;
	}
	CHECK_EQ_U64(a.golden.trace.n, b.golden.trace.n);
	for (size_t i = 0; i < a.golden.trace.n && i < b.golden.trace.n; i++) {
		const struct snapshot *x = &a.golden.trace.b[i].snap;
		const struct snapshot *y = &b.golden.trace.b[i].snap;
		CHECK_EQ_U64(a.golden.trace.b[i].addr,
			     b.golden.trace.b[i].addr);
		CHECK(!memcmp(&x->state.regs, &y->state.regs,
			      sizeof(struct kvm_regs)));
		CHECK(!memcmp(&x->state.sregs, &y->state.sregs,
			      sizeof(struct kvm_sregs)));
		/* Pages are interned: the same bytes, the same page. */
		CHECK_EQ_U64(x->npages, y->npages);
		CHECK(!memcmp(x->pages, y->pages,
			      x->npages * sizeof(*x->pages)));
	}
	CHECK(!memcmp(&a.golden.final.final.regs, &b.golden.final.final.regs,
		      sizeof(struct kvm_regs)));
	stub_sweep_free(&a);
	stub_sweep_free(&b);
}

int main(int argc, char **argv)
{
	struct vm *vm = test_vm_open(argc, argv);

	test_linux_passes_everywhere(vm);
	test_cs_swapgs_fails_exactly_in_user_gs_windows(vm);
	test_no_tf_or_rf_leaks(vm);
	test_triple_fault_is_a_verdict(vm);
	test_hang_is_a_verdict(vm);
	test_wrong_declaration_is_reported(vm);
	test_undeclared_results_are_kept(vm);
	test_golden_run_is_deterministic(vm);
	test_linux_depth2_all_events(vm);
	test_naive_ist_mc_reentry(vm);
	test_nmi_unmask_reentry(vm);
	test_fixup_tables(vm);
	test_nmi_no_ist(vm);
	test_movss_db(vm);
	test_percpu_kstack(vm);
	test_sti_pair(vm);
	test_activation_pair(vm);
	test_code_is_restored(vm);
	test_atomic_ist(vm);
	test_naive_ist_db_reentry(vm);
	test_naive_ist_nmi_x_nmi(vm, EVENT_MC);
	test_naive_ist_nmi_x_nmi(vm, EVENT_DB);
	test_linux_nmi_mc_nmi(vm);
	vm_close(vm);
	return check_summary("test_sweep");
}
