/* libFuzzer target: schedules of nested events over one stub's entry text,
 * guided by the guest's coverage of its entry windows.
 *
 * One VM per process: LLVMFuzzerInitialize loads the stub and takes its
 * golden run once. Each input (harness/fuzz_input.h: every input of the
 * right size is a schedule) is followed level by level through the traces
 * the sweep records, each level's trial run and judged as `sweep` would.
 * What libFuzzer learns from is not the host's code (built without
 * coverage instrumentation) but one counter per (boundary, event kind,
 * depth, window, outcome) of every trial, in __libfuzzer_extra_counters.
 *
 * A failure (any verdict but pass and the CPU's own shutdown) inside the
 * stub's assumptions, or in a hole it declares it leaves open (KNOWN_HOLE:
 * the linux stub's NMI prologue), is written as a text crash file, atomically,
 * into $IST_FUZZ_CRASH_DIR (default crashes/), and the target then aborts from
 * a site of its own per verdict kind, so that libFuzzer keeps distinct bugs
 * apart.
 *
 * Environment (`ist-torture fuzz` sets it; plain libFuzzer use in
 * docs/fuzzing.md):
 *   IST_FUZZ_STUB       the stub (required, unless the target was built
 *                       for one: -DIST_FUZZ_DEFAULT_STUB)
 *   IST_GUEST_DIR       its directory (default: the build's guest/, else
 *                       guest/ beside the target's executable)
 *   IST_FUZZ_BACKEND    kvm, qemu or auto (default)
 *   IST_FUZZ_EVENTS     event kinds, per level with ':' (default: all)
 *   IST_FUZZ_DEPTH      deepest schedule, 1..4 (default 3)
 *   IST_FUZZ_CRASH_DIR  where crash files go (default crashes)
 *   IST_FUZZ_COVERAGE   a coverage map the run's trials are merged into
 *   IST_FUZZ_CACHE      traces after an event kept for reuse (default 16)
 *   IST_FUZZ_VERBOSE    print each schedule run and its verdict
 *   IST_FUZZ_SEEDS      write seed inputs for the stub into this
 *                       directory (one per event kind and window of the
 *                       golden run, and nested ones) and exit
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalogue.h"
#include "crashfile.h"
#include "fuzz_input.h"
#include "sweep.h"
#include "tempdir.h"
#include "window.h"

#ifndef IST_DEFAULT_GUEST_DIR
#define IST_DEFAULT_GUEST_DIR "guest"
#endif
/* A build for one stub (ClusterFuzzLite: a target per stub, no
 * environment) names it here. */
#ifndef IST_FUZZ_DEFAULT_STUB
#define IST_FUZZ_DEFAULT_STUB NULL
#endif

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* Guest coverage: what libFuzzer sees of a trial. */
#define COUNTERS (1u << 16)
__attribute__((section("__libfuzzer_extra_counters"),
	       used)) static uint8_t counters[COUNTERS];

static struct {
	struct vm *vm;
	struct stub_sweep s;
	struct sweep_options opt;
	struct coverage coverage;
	const char *coverage_path;
	const char *crash_dir;
	int max_depth;
	int verbose; /* IST_FUZZ_VERBOSE: every schedule and its verdict */
	/* The input being run, and its first failure. */
	struct fuzz_input in;
	int failed;
	struct schedule failing;
	struct verdict verdict;
	const struct ist_assume *assumption;
} fz;

static void die(const char *what)
{
	fprintf(stderr, "schedule_fuzz: %s\n", what);
	exit(2);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static int pick(void *ctx, int level, const struct trace *t, unsigned events,
		struct sweep_pick *out)
{
	(void)ctx;
	return fuzz_input_pick(&fz.in, level, t, events, out);
}

static void judged(void *ctx, const struct stub_sweep *s,
		   const struct schedule *sc, const char *window,
		   const struct verdict *v, int as_declared,
		   const struct ist_assume *assumption)
{
	const struct schedule_step *last = &sc->step[sc->depth - 1];
	uint64_t h = 0xcbf29ce484222325ULL;
	int kind = last->inj.kind;

	(void)ctx;
	(void)s;
	(void)as_declared;
	h = fnv(h, &last->addr, sizeof(last->addr));
	h = fnv(h, &kind, sizeof(kind));
	h = fnv(h, &sc->depth, sizeof(sc->depth));
	h = fnv(h, window, strlen(window));
	h = fnv(h, &v->kind, sizeof(v->kind));
	if (counters[h % COUNTERS] < 255)
		counters[h % COUNTERS]++;
	/* A failure that breaks a plain ASSUME is outside what the stub
	 * claims; one in a KNOWN_HOLE is the race the design left open. */
	if (!fz.failed && v->kind != VERDICT_PASS &&
	    v->kind != VERDICT_ARCH_SHUTDOWN &&
	    v->kind != VERDICT_HARNESS_ERROR &&
	    (!assumption || (assumption->events & IST_ASSUME_HOLE))) {
		fz.failed = 1;
		fz.failing = *sc;
		fz.verdict = *v;
		fz.assumption = assumption;
	}
	if (fz.verbose) {
		char text[600];

		schedule_format(&s->img, sc, text, sizeof(text));
		fprintf(stderr, "schedule_fuzz: ran %s: %s\n", text,
			verdict_name(v->kind));
	}
	if (v->kind == VERDICT_HARNESS_ERROR)
		fprintf(stderr,
			"schedule_fuzz: harness error (not counted): %s\n",
			v->summary);
}

/* One site per verdict kind: libFuzzer tells crashes apart by their
 * stacks. abort() runs no exit handler: QEMU's directory goes first (QEMU
 * itself dies with this process). */
#define FOUND(name)                                                            \
	static __attribute__((noinline, noreturn)) void found_##name(void)     \
	{                                                                      \
		__asm__ volatile("");                                          \
		tempdir_remove_all();                                          \
		abort();                                                       \
	}
FOUND(shutdown)
FOUND(double_fault)
FOUND(unexpected_exception)
FOUND(hang)
FOUND(stray_exit)
FOUND(lost_event)
FOUND(double_handled)
FOUND(invariant)
FOUND(frame_mismatch)
FOUND(state_mismatch)
FOUND(other)

static void __attribute__((noreturn)) report_failure(void)
{
	char path[4096], err[400], sched[600];
	int rc = crash_write(fz.crash_dir, fz.s.name, &fz.s.img, fz.opt.seed,
			     fz.opt.db_method == DB_BY_GUEST_DR, &fz.failing,
			     &fz.verdict, path, sizeof(path), err, sizeof(err));

	schedule_format(&fz.s.img, &fz.failing, sched, sizeof(sched));
	fprintf(stderr, "schedule_fuzz: %s: %s%s\n", sched,
		verdict_name(fz.verdict.kind),
		fz.assumption ? " (in the hole the stub declares)" : "");
	if (fz.assumption)
		fprintf(stderr, "schedule_fuzz: the hole: %s\n",
			fz.assumption->text);
	if (rc < 0)
		fprintf(stderr, "schedule_fuzz: %s\n", err);
	else
		fprintf(stderr, "schedule_fuzz: crash file %s%s\n", path,
			rc == 1 ? " (already there)" : "");
	switch (fz.verdict.kind) {
	case VERDICT_SHUTDOWN:
		found_shutdown();
	case VERDICT_DOUBLE_FAULT:
		found_double_fault();
	case VERDICT_UNEXPECTED_EXCEPTION:
		found_unexpected_exception();
	case VERDICT_HANG:
		found_hang();
	case VERDICT_STRAY_EXIT:
		found_stray_exit();
	case VERDICT_LOST_EVENT:
		found_lost_event();
	case VERDICT_DOUBLE_HANDLED:
		found_double_handled();
	case VERDICT_INVARIANT:
		found_invariant();
	case VERDICT_FRAME_MISMATCH:
		found_frame_mismatch();
	case VERDICT_STATE_MISMATCH:
		found_state_mismatch();
	default:
		found_other();
	}
}

static void save_coverage(void)
{
	char err[400];

	if (fz.coverage_path &&
	    coverage_save(fz.coverage_path, 1, &fz.coverage, err, sizeof(err)))
		fprintf(stderr, "schedule_fuzz: %s\n", err);
}

/* Seeds: each event kind at the first boundary of each window of the
 * golden run, and a few nested schedules (at the first boundaries of the
 * handler, where the nested-entry races are). */
static void write_seed(const char *dir, const char *name,
		       const struct fuzz_input *in)
{
	uint8_t bytes[FUZZ_INPUT_BYTES];
	size_t n = fuzz_input_bytes(in, bytes);
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(bytes, 1, n, f) != n || fclose(f))
		die("cannot write a seed (is IST_FUZZ_SEEDS a directory?)");
}

/* The kind byte that picks kind k among `events`. */
static uint8_t kind_byte(unsigned events, int k)
{
	return (uint8_t)__builtin_popcount(events & ((1u << k) - 1));
}

static void write_seeds(const char *dir)
{
	const struct trace *t = &fz.s.golden.trace;
	char(*win)[WINDOW_LABEL_MAX] = calloc(t->n + 1, sizeof(*win));
	unsigned ev[SCHEDULE_MAX_DEPTH];
	char name[200], wname[64];
	int nseeds = 0;

	if (!win)
		die("out of memory");
	for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
		ev[d] = fz.opt.events[d] & (unsigned)fz.s.lay.handles;
	mkdir(dir, 0777);
	window_label_trace(&fz.s.img, &fz.s.lay, t, NULL, win);
	for (size_t i = 0; i < t->n; i++) {
		size_t seen = 0;

		/* A window's first boundary, the first time it is met. */
		while (seen < i && strcmp(win[seen], win[i]))
			seen++;
		if (seen < i)
			continue;
		window_name(win[i], wname, sizeof(wname));
		for (int k = 0; k < EVENT_KIND_COUNT; k++) {
			struct fuzz_input in = {.depth = 1};

			if (!(ev[0] >> k & 1))
				continue;
			in.step[0].kind = kind_byte(ev[0], k);
			in.step[0].at = (uint16_t)i;
			snprintf(name, sizeof(name), "d1-%s-%zu-%s", wname, i,
				 event_kind_name(k));
			write_seed(dir, name, &in);
			nseeds++;
			/* Nested: every kind at the handler's first and a
			 * later boundary, down to the deepest level. */
			for (int d = 2; d <= fz.max_depth; d++) {
				for (int k2 = 0; k2 < EVENT_KIND_COUNT; k2++) {
					if (!(ev[d - 1] >> k2 & 1))
						continue;
					in.depth = d;
					in.step[d - 1].kind =
						kind_byte(ev[d - 1], k2);
					in.step[d - 1].at = (uint16_t)(d * 3);
					snprintf(name, sizeof(name),
						 "d%d-%s-%zu-%s-%s", d, wname,
						 i, event_kind_name(k),
						 event_kind_name(k2));
					write_seed(dir, name, &in);
					nseeds++;
				}
			}
		}
	}
	free(win);
	fprintf(stderr, "schedule_fuzz: %d seeds for %s in %s\n", nseeds,
		fz.s.name, dir);
	exit(0);
}

static struct vm *open_vm(const char *backend)
{
	struct vm *vm = NULL;
	char err[400], qerr[400];

	if (strcmp(backend, "qemu") && vm_open("/dev/kvm", IST_GUEST_MEM_SIZE,
					       &vm, err, sizeof(err)) == VM_OK)
		return vm;
	if (!strcmp(backend, "kvm"))
		die(err);
	if (vm_open_qemu(IST_GUEST_MEM_SIZE, &vm, qerr, sizeof(qerr)) != VM_OK)
		die(qerr);
	return vm;
}

/* $IST_GUEST_DIR; else the build's; else guest/ beside the executable
 * (a target copied out of the build, as ClusterFuzzLite does). */
static const char *guest_dir(void)
{
	static char beside[4096];
	struct stat st;
	ssize_t n;

	if (getenv("IST_GUEST_DIR"))
		return getenv("IST_GUEST_DIR");
	if (stat(IST_DEFAULT_GUEST_DIR, &st) == 0)
		return IST_DEFAULT_GUEST_DIR;
	n = readlink("/proc/self/exe", beside, sizeof(beside) - 7);
	if (n <= 0)
		return IST_DEFAULT_GUEST_DIR;
	beside[n] = 0;
	snprintf(strrchr(beside, '/') ? strrchr(beside, '/') + 1 : beside, 7,
		 "guest");
	return beside;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *stub = getenv("IST_FUZZ_STUB") ? getenv("IST_FUZZ_STUB")
						   : IST_FUZZ_DEFAULT_STUB;
	const char *dir = guest_dir();
	const char *events = getenv("IST_FUZZ_EVENTS");
	const char *depth = getenv("IST_FUZZ_DEPTH");
	const char *backend = getenv("IST_FUZZ_BACKEND");
	struct catalogue cat;
	char err[600], path[4096];
	int i, n = 1;

	(void)argc;
	(void)argv;
	if (!stub)
		die("set IST_FUZZ_STUB to the stub to fuzz (ist-torture list "
		    "names them)");
	if (catalogue_read(dir, &cat, err, sizeof(err)))
		die(err);
	i = catalogue_find(&cat, stub);
	if (i < 0)
		die("IST_FUZZ_STUB names no stub of the guest directory");
	catalogue_path(&cat, (size_t)i, path, sizeof(path));
	fz.max_depth = depth ? atoi(depth) : 3;
	if (fz.max_depth < 1 || fz.max_depth > SCHEDULE_MAX_DEPTH)
		die("IST_FUZZ_DEPTH is 1 to 4");
	fz.opt.seed = 1;
	fz.opt.timeout_ms = 500;
	fz.opt.depth = fz.max_depth;
	fz.opt.events[0] = (1u << EVENT_KIND_COUNT) - 1;
	if (events) {
		n = schedule_events_parse(events, fz.opt.events, err,
					  sizeof(err));
		if (n < 0)
			die(err);
	}
	for (int d = n; d < SCHEDULE_MAX_DEPTH; d++)
		fz.opt.events[d] = fz.opt.events[n - 1];
	fz.vm = open_vm(backend ? backend : "auto");
	fz.opt.db_method = vm_features(fz.vm) & VM_CAN_DB_PAYLOAD
				   ? DB_BY_PAYLOAD
				   : DB_BY_GUEST_DR;
	if (fz.opt.db_method == DB_BY_GUEST_DR &&
	    !(vm_features(fz.vm) & VM_CAN_GUEST_DR))
		for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
			fz.opt.events[d] &= ~(1u << EVENT_DB);
	fz.opt.max_records = 16;
	fz.opt.cache_traces = getenv("IST_FUZZ_CACHE")
				      ? (size_t)atoi(getenv("IST_FUZZ_CACHE"))
				      : 16;
	fz.opt.pick = pick;
	fz.opt.judged = judged;
	fz.crash_dir = getenv("IST_FUZZ_CRASH_DIR")
			       ? getenv("IST_FUZZ_CRASH_DIR")
			       : "crashes";
	fz.coverage_path = getenv("IST_FUZZ_COVERAGE");
	fz.verbose = getenv("IST_FUZZ_VERBOSE") != NULL;
	coverage_init(&fz.coverage);
	if (fz.coverage_path)
		fz.opt.coverage = &fz.coverage;
	if (sweep_open(fz.vm, stub, path, &fz.opt, &fz.s))
		die(fz.s.error);
	catalogue_free(&cat);
	if (getenv("IST_FUZZ_SEEDS"))
		write_seeds(getenv("IST_FUZZ_SEEDS"));
	atexit(save_coverage);
	fprintf(stderr,
		"schedule_fuzz: %s on %s, %zu boundaries in its golden run, "
		"schedules up to depth %d\n",
		stub, vm_backend(fz.vm), fz.s.golden.trace.n, fz.max_depth);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int harness_error;

	if (fuzz_input_parse(data, size, fz.max_depth, &fz.in))
		return -1; /* no schedule: never in the corpus */
	fz.failed = 0;
	fz.opt.depth = fz.in.depth;
	fz.s.nrecords = 0;
	sweep_run(fz.vm, &fz.s, &fz.opt, &harness_error);
	if (fz.failed) {
		save_coverage();
		report_failure();
	}
	return 0;
}

/* Mutations of the schedule; otherwise libFuzzer's own on the bytes,
 * brought back to an input. */
static unsigned next_random(void *ctx)
{
	return (unsigned)rand_r((unsigned *)ctx);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
			       unsigned int seed)
{
	struct fuzz_input in;
	unsigned state = seed;
	/* As deep as the room libFuzzer offers allows (its length control
	 * may start below a whole input). */
	int deepest =
		max_size > 1 ? (int)((max_size - 1) / FUZZ_STEP_BYTES) : 0;

	if (deepest > fz.max_depth)
		deepest = fz.max_depth;
	if (deepest < 1)
		return size;
	if (fuzz_input_parse(data, size, deepest, &in) ||
	    next_random(&state) % 4 == 0) {
		/* Bytes-level: libFuzzer's own, then the depth byte and
		 * size made to agree. */
		size = LLVMFuzzerMutate(data, size, max_size);
		if (size < 1)
			data[0] = 1, size = 1;
		in.depth = 1 + data[0] % deepest;
		data[0] = (uint8_t)in.depth;
		if (size < 1 + (size_t)in.depth * FUZZ_STEP_BYTES)
			memset(data + size, 0,
			       1 + (size_t)in.depth * FUZZ_STEP_BYTES - size);
		return 1 + (size_t)in.depth * FUZZ_STEP_BYTES;
	}
	fuzz_input_mutate(&in, deepest, next_random, &state);
	return fuzz_input_bytes(&in, data);
}
