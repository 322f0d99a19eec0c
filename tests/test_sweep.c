/* End-to-end: real sweeps of real stubs under KVM.
 *
 * - linux passes at every boundary, and every boundary of its SYSCALL path
 *   is reached once per system call;
 * - cs-swapgs fails at exactly the boundaries where the CPU is at CPL0 with
 *   the user's GS base, asserted as a set: once against names written out
 *   here, once against the set computed from the golden snapshots;
 * - nothing of the stepping machinery (TF, RF) reaches what the guest sees;
 * - a guest that triple-faults, or hangs, is a verdict and the sweep goes on;
 * - the exit status follows the stubs' declarations;
 * - two golden runs of the same seed are identical.
 *
 * Needs /dev/kvm: without a usable one it says why and exits 77 (skipped).
 */
#include <stdlib.h>

#include "check.h"
#include "sweep.h"
#include "trial.h"

#define RFLAGS_TF (1ULL << 8)
#define RFLAGS_RF (1ULL << 16)

static struct sweep_options options = {
	.seed = 1,
	.timeout_ms = TRIAL_TIMEOUT_MS,
	.events = 1u << EVENT_NMI,
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

static int name_in(const char *name, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, set[i]))
			return 1;
	return 0;
}

static void test_linux_passes_everywhere(struct vm *vm)
{
	struct stub_sweep s;
	uint64_t swapgs_execs = 0;

	if (sweep(vm, IST_GUEST_DIR, "linux", &s)) {
		CHECK(!"linux sweeps");
		return;
	}
	CHECK(s.golden.n > 40);
	CHECK_EQ_U64(s.ntrials, s.golden.n);
	CHECK_EQ_U64(s.passed, s.ntrials);
	CHECK_EQ_U64(s.failed, 0);
	CHECK_EQ_U64(s.not_as_declared, 0);
	for (size_t i = 0; i < s.golden.n; i++) {
		const struct boundary *b = &s.golden.b[i];
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
	for (size_t i = 0; i < s.ntrials; i++) {
		const struct trial_record *r = &s.trials[i];
		const struct boundary *b = &s.golden.b[r->boundary];
		int user_gs = b->snap.state.sregs.gs.base != s.lay.percpu_va;
		int fails = r->verdict.kind != VERDICT_PASS;
		char name[200];

		boundary_name(&s.img, b, name, sizeof(name));
		if (name_in(name, expected, n) != fails || user_gs != fails) {
			fprintf(stderr, "  %s: %s, GS %s\n", name,
				verdict_name(r->verdict.kind),
				user_gs ? "user" : "kernel");
			CHECK(!"fails exactly at the expected boundaries");
		}
		if (fails) {
			failed++;
			CHECK_EQ_U64(r->verdict.kind, VERDICT_INVARIANT);
			CHECK(r->verdict.ndiffs >= 1);
			CHECK_EQ_STR(r->verdict.diffs[0].field, "nmi.gs_base");
			CHECK_EQ_U64(r->verdict.diffs[0].expected,
				     s.lay.percpu_va);
		}
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
	struct injection nmi = {.kind = EVENT_NMI};

	if (sweep(vm, IST_GUEST_DIR, "linux", &s)) {
		CHECK(!"linux sweeps");
		return;
	}
	check_no_tf_rf(&s.golden.final.log, "golden run");
	CHECK_EQ_U64(s.golden.final.final.regs.rflags & RFLAGS_TF, 0);
	observation_init(&obs, &s.lay);
	for (size_t i = 0; i < s.golden.n; i++) {
		const struct boundary *b = &s.golden.b[i];
		CHECK_EQ_U64(
			b->snap.state.regs.rflags & (RFLAGS_TF | RFLAGS_RF), 0);
		CHECK_EQ_U64(
			trial_run(vm, &s.lay, b, &nmi, TRIAL_TIMEOUT_MS, &obs),
			0);
		CHECK_EQ_U64(obs.end, RUN_DONE);
		check_no_tf_rf(&obs.log, "trial");
		CHECK_EQ_U64(obs.final.regs.rflags & RFLAGS_TF, 0);
	}
	observation_free(&obs);
	stub_sweep_free(&s);
}

static void count_kinds(const struct stub_sweep *s, size_t *counts)
{
	memset(counts, 0, sizeof(size_t) * VERDICT_KIND_COUNT);
	for (size_t i = 0; i < s->ntrials; i++)
		counts[s->trials[i].verdict.kind]++;
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
		     s.ntrials);
	CHECK_EQ_U64(s.trials[0].verdict.kind, VERDICT_SHUTDOWN);
	CHECK_EQ_U64(s.not_as_declared, 0);
	stub_sweep_free(&s);
}

static void test_hang_is_a_verdict(struct vm *vm)
{
	size_t counts[VERDICT_KIND_COUNT];
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
	for (size_t i = 0; i < s.ntrials; i++)
		if (s.trials[i].verdict.kind == VERDICT_HANG)
			CHECK(strstr(s.trials[i].verdict.summary, "200 ms"));
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
	CHECK_EQ_U64(s.failed, 0);
	CHECK_EQ_U64(s.not_as_declared, IST_SYSCALL_COUNT);
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
	CHECK_EQ_U64(a.golden.n, b.golden.n);
	for (size_t i = 0; i < a.golden.n && i < b.golden.n; i++) {
		CHECK_EQ_U64(a.golden.b[i].addr, b.golden.b[i].addr);
		CHECK(!memcmp(&a.golden.b[i].snap.state.regs,
			      &b.golden.b[i].snap.state.regs,
			      sizeof(struct kvm_regs)));
	}
	CHECK(!memcmp(&a.golden.final.final.regs, &b.golden.final.final.regs,
		      sizeof(struct kvm_regs)));
	stub_sweep_free(&a);
	stub_sweep_free(&b);
}

int main(void)
{
	char err[400];
	struct vm *vm;

	if (vm_open(getenv("IST_KVM_DEVICE") ? getenv("IST_KVM_DEVICE")
					     : "/dev/kvm",
		    IST_GUEST_MEM_SIZE, &vm, err, sizeof(err)) != VM_OK)
		CHECK_SKIP("no usable KVM: %s", err);
	printf("back end: %s\n", vm_backend(vm));
	test_linux_passes_everywhere(vm);
	test_cs_swapgs_fails_exactly_in_user_gs_windows(vm);
	test_no_tf_or_rf_leaks(vm);
	test_triple_fault_is_a_verdict(vm);
	test_hang_is_a_verdict(vm);
	test_wrong_declaration_is_reported(vm);
	test_golden_run_is_deterministic(vm);
	vm_close(vm);
	return check_summary("test_sweep");
}
