/* ist-torture replay and minimize: a crash file's schedule run again,
 * judged, and traced on request; or shrunk to the smallest schedule with
 * the same signature. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crashfile.h"
#include "fuzz_input.h"
#include "text_escape.h"
#include "trial.h"
#include "trial_trace.h"

/* replay --trace: the run again from where the last event lands, traced
 * boundary by boundary. */
/* --json: the trace goes into a buffer, to sit inside the file's object. */
struct trace_out {
	int json;
	char *buf;
	size_t len;
};

static void print_trace(void *ctx, struct vm *vm, const struct stub_sweep *s,
			const struct boundary *at, const struct injection *inj)
{
	struct trace_out *to = ctx;
	struct trace t;
	char err[400];

	if (trace_to_end(vm, &s->img, &s->lay, at, inj, &t, err, sizeof(err))) {
		if (!to->json)
			printf("  (no trace: %s)\n", err);
		return;
	}
	if (to->json) {
		FILE *m = open_memstream(&to->buf, &to->len);

		if (m) {
			trial_trace_json(m, &s->img, &s->lay, &t);
			fclose(m);
		}
		trace_free(&t);
		return;
	}
	{
		char where[160];

		printf("  trace: the %s raised at %s, to the end of the run "
		       "(each line: boundary, instruction, what it changed)\n",
		       injector_for(inj->kind)->name,
		       image_format_addr(&s->img, at->addr, where,
					 sizeof(where)));
	}
	trial_trace_print(stdout, &s->img, &s->lay, &t);
	trace_free(&t);
}

/* --gdb: the schedule's last event raised where it lands, the vCPU run to
 * its handler's first instruction and handed to gdb there. */
struct gdb_plan {
	unsigned port;
	const char *elf; /* the stub's guest image, for gdb's symbols */
	int failed;
};

static void hand_to_gdb(void *ctx, struct vm *vm, const struct stub_sweep *s,
			const struct boundary *at, const struct injection *inj)
{
	struct gdb_plan *g = ctx;
	const struct injector *injector = injector_for(inj->kind);
	uint64_t gate = guest_gate(&s->lay, injector->vector);
	char where[160], handler[160], err[300];
	struct vm_exit ex;
	int c;

	g->failed = 1;
	if (boundary_start(vm, &s->lay, at, inj) ||
	    vm_set_breakpoints(vm, &gate, 1) ||
	    vm_run(vm, TRIAL_TIMEOUT_MS, &ex) ||
	    ex.kind != VM_EXIT_BREAKPOINT) {
		fprintf(stderr,
			"ist-torture: the %s raised at %s never reached its "
			"handler (%s): nothing to hand to gdb\n",
			injector->name,
			image_format_addr(&s->img, at->addr, where,
					  sizeof(where)),
			image_format_addr(&s->img, gate, handler,
					  sizeof(handler)));
		return;
	}
	if ((injector->delivered && injector->delivered(vm, inj)) ||
	    vm_set_breakpoints(vm, NULL, 0) ||
	    vm_hand_over(vm, g->port, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		return;
	}
	g->failed = 0;
	image_format_addr(&s->img, at->addr, where, sizeof(where));
	image_format_addr(&s->img, gate, handler, sizeof(handler));
	printf("stopped at the %s handler's first instruction, %s, the %s "
	       "delivered at %s (the schedule's last event; the earlier ones "
	       "are behind it)\n\n",
	       injector->name, handler, injector->name, where);
	printf("attach gdb (the guest image gives it the symbols):\n");
	printf("  gdb -ex 'target remote 127.0.0.1:%u' %s\n\n", g->port,
	       g->elf);
	printf("then, for instance:\n"
	       "  x/8i $pc      the handler ahead\n"
	       "  x/5gx $rsp    the frame the CPU pushed: RIP, CS, RFLAGS, "
	       "RSP, SS\n"
	       "  info registers\n"
	       "  stepi, break SYMBOL, continue\n\n");
	printf("waiting: press Enter here (or end standard input) when done; "
	       "QEMU ends with ist-torture\n");
	fflush(stdout);
	while ((c = getchar()) != EOF && c != '\n')
		;
}

/* What a replay found, in words: reproduced, gone, or different. */
static void replay_text(const struct cli *cli, const char *file,
			const struct crash *c, const struct verdict *v)
{
	if (cli->trace && v->ndiffs) {
		printf("  divergence, field by field:\n  %-28s %-20s %s\n",
		       "field", "expected", "observed");
		for (int k = 0; k < v->ndiffs; k++)
			printf("  %-28s 0x%016llx   0x%016llx\n",
			       v->diffs[k].field,
			       (unsigned long long)v->diffs[k].expected,
			       (unsigned long long)v->diffs[k].observed);
	}
	if (v->kind == c->verdict)
		printf("%s: reproduced: %s (%s)\n", file,
		       verdict_name(c->verdict), v->summary);
	else if (v->kind == VERDICT_PASS)
		printf("%s: no longer reproduces: it passes now (recorded "
		       "%s); the bug looks fixed\n",
		       file, verdict_name(c->verdict));
	else
		printf("%s: reproduces differently: recorded %s, now %s "
		       "(%s)\n",
		       file, verdict_name(c->verdict), verdict_name(v->kind),
		       v->summary);
}

/* The same as one JSON object on one line (docs/crash-format.md). */
static void replay_json(const char *file, const struct crash *c,
			const struct verdict *v, const char *trace)
{
	printf("{\"file\":");
	json_string(stdout, file);
	printf(",\"stub\":");
	json_string(stdout, c->stub);
	printf(",\"recorded\":\"%s\",\"now\":\"%s\",\"result\":\"%s\","
	       "\"summary\":",
	       verdict_name(c->verdict), verdict_name(v->kind),
	       v->kind == c->verdict	 ? "reproduced"
	       : v->kind == VERDICT_PASS ? "fixed"
					 : "different");
	json_string(stdout, v->summary);
	printf(",\"diffs\":[");
	for (int k = 0; k < v->ndiffs; k++) {
		printf("%s{\"field\":", k ? "," : "");
		json_string(stdout, v->diffs[k].field);
		printf(",\"expected\":\"0x%llx\",\"observed\":\"0x%llx\"}",
		       (unsigned long long)v->diffs[k].expected,
		       (unsigned long long)v->diffs[k].observed);
	}
	printf("],\"trace\":%s}\n", trace ? trace : "null");
}

/* A crash file, read and resolved against its stub: the schedule and the
 * stub's path. EXIT_AS_DECLARED, or EXIT_USAGE (said) for a file it
 * cannot use. */
static int load_crash(const struct cli *cli, const struct catalogue *cat,
		      struct vm *vm, const char *file, struct crash *c,
		      struct schedule *sched, char *path, size_t pathlen)
{
	struct guest_image img;
	char err[700];
	size_t i;

	if (crash_parse(file, c, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		return EXIT_USAGE;
	}
	for (i = 0; i < cat->n && strcmp(cat->names[i], c->stub); i++)
		;
	if (i == cat->n) {
		fprintf(stderr,
			"ist-torture: %s: no stub '%s' in %s (see "
			"ist-torture list)\n",
			file, c->stub, cli->guest_dir);
		return EXIT_USAGE;
	}
	catalogue_path(cat, i, path, pathlen);
	if (image_load(path, &img, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		return EXIT_USAGE;
	}
	if (crash_image_hash(&img) != c->image_hash)
		fprintf(stderr,
			"ist-torture: warning: %s: stub %s changed since the "
			"file was written (image fnv1a64:%016llx, now "
			"%016llx); replaying it anyway\n",
			file, c->stub, (unsigned long long)c->image_hash,
			(unsigned long long)crash_image_hash(&img));
	if (crash_resolve(c, &img, sched, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		image_free(&img);
		return EXIT_USAGE;
	}
	image_free(&img);
	if (c->db_by_guest_dr == 0 && !(vm_features(vm) & VM_CAN_DB_PAYLOAD)) {
		for (int k = 0; k < sched->depth; k++)
			if (sched->step[k].inj.kind == EVENT_DB) {
				fprintf(stderr,
					"ist-torture: %s: its #DB was raised "
					"by payload, which %s cannot do: "
					"replay it on KVM\n",
					file, vm_backend(vm));
				return EXIT_USAGE;
			}
	}
	return EXIT_AS_DECLARED;
}

/* --- libFuzzer's own artifacts: the raw bytes of an input --------------- */

struct raw_replay {
	struct fuzz_input in;
	struct schedule last;
	struct verdict verdict;
	const struct ist_assume *assumption;
	int judged, found;
};

static int raw_pick(void *ctx, int level, const struct trace *t,
		    unsigned events, struct sweep_pick *out)
{
	return fuzz_input_pick(&((struct raw_replay *)ctx)->in, level, t,
			       events, out);
}

static void raw_judged(void *ctx, const struct stub_sweep *s,
		       const struct schedule *sc, const char *window,
		       const struct verdict *v, int as_declared,
		       const struct ist_assume *assumption)
{
	struct raw_replay *r = ctx;
	int finding = v->kind != VERDICT_PASS &&
		      v->kind != VERDICT_ARCH_SHUTDOWN &&
		      v->kind != VERDICT_HARNESS_ERROR &&
		      (!assumption || (assumption->events & IST_ASSUME_HOLE));

	(void)s;
	(void)window;
	(void)as_declared;
	/* What the fuzzer reports: its first finding (a schedule's prefix
	 * may fail before its last level), else the last schedule run. */
	if (r->found)
		return;
	r->found = finding;
	r->last = *sc;
	r->verdict = *v;
	r->assumption = assumption;
	r->judged = 1;
}

/* Is the file a fuzzer input rather than a crash file? Then its bytes. */
static int read_raw_input(const char *file, struct fuzz_input *in)
{
	uint8_t bytes[FUZZ_INPUT_BYTES + 1];
	FILE *f = fopen(file, "rb");
	size_t n;

	if (!f)
		return -1;
	n = fread(bytes, 1, sizeof(bytes), f);
	fclose(f);
	return fuzz_input_parse(bytes, n, SCHEDULE_MAX_DEPTH, in);
}

/* The schedule the input chooses on the stub it was fuzzed on (--stub),
 * with the event kinds it was fuzzed with (--events, default all): run,
 * judged, and written as a text crash file when it fails. Exit 0 when it
 * fails, 1 when it passes now. */
static int replay_raw(const struct cli *cli, const struct catalogue *cat,
		      struct vm *vm, const char *file, struct coverage *cov)
{
	struct raw_replay r = {0};
	struct sweep_options opt;
	struct stub_sweep s;
	char path[4096], sched[600], crash[4096], err[400];
	int i = catalogue_find(cat, cli->stubs), harness_error;

	if (read_raw_input(file, &r.in))
		return -1; /* not one: a crash file, or an error to say */
	if (i < 0) {
		fprintf(stderr,
			"ist-torture: %s is a fuzzer input, which names no "
			"stub: give the one it was fuzzed on (--stub NAME)\n",
			file);
		return EXIT_USAGE;
	}
	if (fit_to_backend(vm, cli, &opt))
		return EXIT_USAGE;
	opt.depth = r.in.depth;
	opt.pick = raw_pick;
	opt.pick_ctx = &r;
	opt.judged = raw_judged;
	opt.judged_ctx = &r;
	opt.coverage = cov;
	opt.crash_dir = NULL;
	catalogue_path(cat, (size_t)i, path, sizeof(path));
	if (sweep_stub(vm, cat->names[i], path, &opt, &s, &harness_error) ||
	    !r.judged || r.verdict.kind == VERDICT_HARNESS_ERROR) {
		printf("%s: HARNESS ERROR: %s\n", file,
		       r.judged ? r.verdict.summary
		       : s.error[0]
			       ? s.error
			       : "the input chose no schedule (no event kind "
				 "swept?)");
		stub_sweep_free(&s);
		return EXIT_HARNESS;
	}
	schedule_format(&s.img, &r.last, sched, sizeof(sched));
	if (!r.found) {
		printf("%s: fuzzer input for %s: %s: %s: it does not fail "
		       "now\n",
		       file, s.name, sched, verdict_name(r.verdict.kind));
		stub_sweep_free(&s);
		return EXIT_NOT_AS_DECLARED;
	}
	printf("%s: fuzzer input for %s: %s: %s%s\n", file, s.name, sched,
	       verdict_name(r.verdict.kind),
	       r.assumption ? " (in the hole the stub declares)" : "");
	if (cli->crash_dir) {
		int rc = crash_write(cli->crash_dir, s.name, &s.img, opt.seed,
				     opt.db_method == DB_BY_GUEST_DR, &r.last,
				     &r.verdict, crash, sizeof(crash), err,
				     sizeof(err));

		if (rc < 0)
			fprintf(stderr, "ist-torture: %s\n", err);
		else
			printf("  as a crash file: %s (replay --trace it)\n",
			       crash);
	}
	stub_sweep_free(&s);
	return EXIT_AS_DECLARED;
}

static int replay_one(const struct cli *cli, const struct catalogue *cat,
		      struct vm *vm, const char *file, struct coverage *cov)
{
	struct sweep_options opt = cli->opt;
	struct trace_out to = {cli->json, NULL, 0};
	struct gdb_plan gdb = {0};
	struct schedule sched;
	struct stub_sweep s;
	struct crash c;
	char path[4096];
	int harness_error, status = EXIT_AS_DECLARED;

	if (load_crash(cli, cat, vm, file, &c, &sched, path, sizeof(path)))
		return EXIT_USAGE;
	opt.seed = c.seed;
	opt.depth = sched.depth;
	opt.db_method = c.db_by_guest_dr ? DB_BY_GUEST_DR : DB_BY_PAYLOAD;
	opt.only = &sched;
	opt.only_done = cli->trace || cli->json ? print_trace : NULL;
	opt.only_ctx = &to;
	if (cli->gdb_port) {
		gdb.port = cli->gdb_port;
		gdb.elf = path;
		opt.only_done = hand_to_gdb;
		opt.only_ctx = &gdb;
	}
	opt.coverage = cov;
	opt.crash_dir = NULL;
	opt.at = NULL;
	opt.exec = 0;
	if (sweep_stub(vm, c.stub, path, &opt, &s, &harness_error) ||
	    !s.only_tried || s.only_verdict.kind == VERDICT_HARNESS_ERROR) {
		const char *why = s.only_tried ? s.only_verdict.summary
				  : s.error[0] ? s.error
					       : "the schedule's boundaries "
						 "were not reached";
		if (cli->json) {
			printf("{\"file\":");
			json_string(stdout, file);
			printf(",\"result\":\"harness-error\",\"why\":");
			json_string(stdout, why);
			printf("}\n");
		} else {
			printf("%s: HARNESS ERROR: %s\n", file, why);
		}
		free(to.buf);
		stub_sweep_free(&s);
		return EXIT_HARNESS;
	}
	if (s.only_verdict.kind != c.verdict)
		status = EXIT_NOT_AS_DECLARED;
	if (cli->gdb_port && gdb.failed)
		status = EXIT_HARNESS;
	if (cli->json)
		replay_json(file, &c, &s.only_verdict, to.buf);
	else
		replay_text(cli, file, &c, &s.only_verdict);
	free(to.buf);
	stub_sweep_free(&s);
	return status;
}

/* Is a smaller than b: fewer injections, then, level by level, an earlier
 * execution, then a lower address? */
static int schedule_smaller(const struct schedule *a, const struct schedule *b)
{
	if (a->depth != b->depth)
		return a->depth < b->depth;
	for (int k = 0; k < a->depth; k++) {
		if (a->step[k].exec != b->step[k].exec)
			return a->step[k].exec < b->step[k].exec;
		if (a->step[k].addr != b->step[k].addr)
			return a->step[k].addr < b->step[k].addr;
	}
	return 0;
}

/* The smallest schedule with the file's signature among those whose
 * injections fall, level by level, in the same windows (the symbols its
 * boundaries are named after), prefixes included. Written beside the
 * file as NAME.min.crash. */
static int minimize_one(const struct cli *cli, const struct catalogue *cat,
			struct vm *vm, const char *file)
{
	struct sweep_options opt = cli->opt;
	const struct sweep_record *best = NULL;
	struct schedule sched;
	struct stub_sweep s;
	struct crash c;
	char path[4096], at[1024] = "", out[4200], err[400], want[17], sig[17];
	char before[600], after[600];
	int harness_error;
	size_t len;

	if (load_crash(cli, cat, vm, file, &c, &sched, path, sizeof(path)))
		return EXIT_USAGE;
	opt.seed = c.seed;
	opt.depth = sched.depth;
	opt.db_method = c.db_by_guest_dr ? DB_BY_GUEST_DR : DB_BY_PAYLOAD;
	opt.crash_dir = NULL;
	opt.exec = 0;
	opt.max_records = 1000000;
	{
		struct guest_image img;

		if (image_load(path, &img, err, sizeof(err))) {
			fprintf(stderr, "ist-torture: %s\n", err);
			return EXIT_USAGE;
		}
		for (int k = 0; k < sched.depth; k++) {
			const struct guest_symbol *sym =
				image_symbol_at(&img, sched.step[k].addr);

			snprintf(at + strlen(at), sizeof(at) - strlen(at),
				 "%s%s", k ? " > " : "", sym ? sym->name : "?");
			opt.events[k] = 1u << sched.step[k].inj.kind;
		}
		image_free(&img);
	}
	opt.at = at;
	/* The file's own schedule first: the signature to keep. */
	{
		struct sweep_options one = opt;

		one.only = &sched;
		one.at = NULL;
		if (sweep_stub(vm, c.stub, path, &one, &s, &harness_error) ||
		    !s.only_tried) {
			printf("%s: HARNESS ERROR: %s\n", file, s.error);
			stub_sweep_free(&s);
			return EXIT_HARNESS;
		}
		for (size_t i = 0; i < s.nrecords && !best; i++)
			if (s.records[i].sched.depth == sched.depth)
				best = &s.records[i];
		if (!best || s.only_verdict.kind == VERDICT_PASS) {
			printf("%s: nothing to minimize: it does not fail now "
			       "(the bug looks fixed)\n",
			       file);
			stub_sweep_free(&s);
			return EXIT_NOT_AS_DECLARED;
		}
		crash_signature(c.stub, &s.img, &best->sched, &best->verdict,
				want);
		schedule_format(&s.img, &best->sched, before, sizeof(before));
		stub_sweep_free(&s);
		best = NULL;
	}
	if (sweep_stub(vm, c.stub, path, &opt, &s, &harness_error)) {
		printf("%s: HARNESS ERROR: %s\n", file, s.error);
		stub_sweep_free(&s);
		return EXIT_HARNESS;
	}
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct sweep_record *r = &s.records[i];

		if (r->assumption || r->verdict.kind == VERDICT_HARNESS_ERROR)
			continue;
		crash_signature(c.stub, &s.img, &r->sched, &r->verdict, sig);
		if (!strcmp(sig, want) &&
		    (!best || schedule_smaller(&r->sched, &best->sched)))
			best = r;
	}
	if (!best) {
		printf("%s: HARNESS ERROR: the failure did not come back among "
		       "its windows' schedules\n",
		       file);
		stub_sweep_free(&s);
		return EXIT_HARNESS;
	}
	len = strlen(file);
	snprintf(out, sizeof(out), "%.*s.min.crash",
		 (int)(len > 6 && !strcmp(file + len - 6, ".crash") ? len - 6
								    : len),
		 file);
	if (crash_write_file(out, c.stub, &s.img, c.seed, c.db_by_guest_dr,
			     &best->sched, &best->verdict, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		stub_sweep_free(&s);
		return EXIT_USAGE;
	}
	schedule_format(&s.img, &best->sched, after, sizeof(after));
	printf("%s: minimized to %s\n  was: %s\n  now: %s  (%s, signature "
	       "%s kept)\n",
	       file, out, before, after, verdict_name(best->verdict.kind),
	       want);
	stub_sweep_free(&s);
	return EXIT_AS_DECLARED;
}

int cmd_replay(const struct cli *cli, const struct catalogue *cat)
{
	int status = EXIT_AS_DECLARED;
	struct coverage cov;
	struct vm *vm;
	char err[600];

	if (cli->gdb_port) {
		/* A live gdb at the race needs QEMU's gdb stub. */
		struct cli on_qemu = *cli;

		if (cli->backend == BACKEND_KVM || cli->nfiles != 1 ||
		    cli->json || cli->trace || strcmp(cli->command, "replay")) {
			fprintf(stderr,
				"ist-torture: --gdb replays one crash file on "
				"QEMU, without --json or --trace (and not with "
				"--backend kvm)\n");
			return EXIT_USAGE;
		}
		if (cli->backend != BACKEND_QEMU_KVM)
			on_qemu.backend = BACKEND_QEMU;
		if (open_backend(&on_qemu, &vm))
			return EXIT_USAGE;
	} else if (open_backend(cli, &vm)) {
		return EXIT_USAGE;
	}
	coverage_init(&cov);
	for (int i = 0; i < cli->nfiles; i++) {
		const char *file = cli->files[i];
		int rc;

		/* A crash file, or a fuzzer input (libFuzzer's artifact). */
		if (!strcmp(cli->command, "minimize"))
			rc = minimize_one(cli, cat, vm, file);
		else if ((rc = replay_raw(cli, cat, vm, file,
					  cli->coverage ? &cov : NULL)) < 0)
			rc = replay_one(cli, cat, vm, file,
					cli->coverage ? &cov : NULL);
		if (rc > status)
			status = rc;
		fflush(stdout);
	}
	if (cli->coverage &&
	    coverage_save(cli->coverage, cli->merge, &cov, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		status = EXIT_USAGE;
	}
	coverage_free(&cov);
	vm_close(vm);
	return status;
}
