/* ist-torture sweep and merge: the exhaustive sweep of the selected stubs,
 * with its report, and what CI wants besides: JUnit and JSON reports, the
 * coverage map, shards, a time budget and a state to resume from; and the
 * merge of shards' states into one report. */
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ci_report.h"
#include "cli.h"
#include "report.h"
#include "sweep_state.h"
#include "tempdir.h"
#include "workers.h"
#include "xalloc.h"

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- stopping cleanly ---------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

/* What SIGINT and SIGTERM did before: tempdir.c's removal of temporary
 * directories, or the default. */
static struct sigaction before_int, before_term;

/* The first SIGINT or SIGTERM stops the sweep after the schedule running;
 * a second one gets what was there before (temporary directories removed,
 * the process ended). */
static void on_stop_signal(int sig)
{
	stop_requested = sig;
	sigaction(sig, sig == SIGINT ? &before_int : &before_term, NULL);
}

static void catch_stop_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &before_int);
	sigaction(SIGTERM, &sa, &before_term);
}

/* --- the progress line ---------------------------------------------------- */

struct progress {
	int on; /* stderr is a terminal */
	double start, last;
	const char *stub;
	size_t failures_before;
};

static void show_progress(void *ctx, const struct stub_sweep *s, size_t done,
			  size_t total)
{
	struct progress *p = ctx;
	struct depth_counts t = sweep_totals(s);
	double now = now_seconds(), spent = now - p->start;

	if (!p->on || (now - p->last < 0.25 && done < total))
		return;
	p->last = now;
	fprintf(stderr,
		"\r\033[K  %s: first injections %zu/%zu, %zu schedules, "
		"%.0f/s, %zu failed",
		s->name, done, total, t.schedules,
		spent > 0 ? (double)t.schedules / spent : 0.0,
		t.failed + t.outside);
	if (done && done < total)
		fprintf(stderr, ", ~%.0f s left",
			spent * (double)(total - done) / (double)done);
	fflush(stderr);
}

static void end_progress(struct progress *p)
{
	if (p->on)
		fprintf(stderr, "\r\033[K");
}

/* --- results, reports and the exit status -------------------------------- */

/* Everything that decides which schedules a sweep has: a state resumes
 * only under the same. */
static void fingerprint(const struct cli *cli, const struct catalogue *cat,
			const char *selected, const struct sweep_options *opt,
			const char *backend, char *out, size_t len)
{
	size_t n = 0;

#define PUT(...)                                                               \
	do {                                                                   \
		if (n < len)                                                   \
			n += (size_t)snprintf(out + n, len - n, __VA_ARGS__);  \
	} while (0)
	PUT("stubs=");
	for (size_t i = 0; i < cat->n; i++)
		if (selected[i])
			PUT("%s,", cat->names[i]);
	PUT(" depth=%d events=", opt->depth);
	for (int d = 0; d < opt->depth; d++)
		PUT("%s0x%x", d ? ":" : "", opt->events[d]);
	PUT(" seed=%" PRIu64 " db=%s backend=%s", opt->seed,
	    opt->db_method == DB_BY_PAYLOAD ? "payload" : "dr", backend);
	if (opt->at)
		PUT(" at=%s", opt->at);
	if (opt->exec)
		PUT(" exec=%u", opt->exec);
	if (cli->shard)
		PUT(" shard=%s", cli->shard);
#undef PUT
}

static int status_of(const struct sweep_state *st, int harness_error,
		     int bad_input)
{
	size_t unexpected = 0, no_longer = 0;

	for (size_t i = 0; i < st->n; i++) {
		const struct stub_result *r = &st->stubs[i].result;

		unexpected += r->unexpected + (size_t)r->golden_failed;
		no_longer += r->no_longer_failing;
		for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
			harness_error |= r->counts[d].harness_errors > 0;
	}
	if (harness_error)
		return EXIT_HARNESS;
	if (bad_input)
		return EXIT_USAGE;
	return unexpected  ? EXIT_NOT_AS_DECLARED
	       : no_longer ? EXIT_NO_LONGER_FAILS
			   : EXIT_AS_DECLARED;
}

static const char *status_words(int status)
{
	switch (status) {
	case EXIT_AS_DECLARED:
		return "every stub got the verdicts it declares";
	case EXIT_NOT_AS_DECLARED:
		return "some stub did NOT get the verdicts it declares";
	case EXIT_NO_LONGER_FAILS:
		return "a buggy stub NO LONGER FAILS where it declares a "
		       "failure (fixed stub, or a blind oracle?)";
	case EXIT_HARNESS:
		return "HARNESS ERROR (not the stubs' fault; see above)";
	default:
		return "a stub file could not be read as a stub (see above)";
	}
}

/* The CI files and the map, from the state: all that was swept, here and
 * in the runs it resumes or the shards it merges. */
static int write_outputs(const struct cli *cli, const struct sweep_state *st,
			 const struct sweep_options *opt, int status)
{
	struct stub_result *r = calloc(st->n + 1, sizeof(*r));
	char events[160] = "";
	struct ci_run run = {
		.backend = st->backend,
		.seed = opt->seed,
		.depth = opt->depth,
		.events = events,
		.shard = st->shard[0] ? st->shard : NULL,
		.complete = sweep_state_complete(st),
		.seconds = st->seconds,
		.exit_status = status,
	};
	char err[600];
	int rc = 0;

	if (!r)
		return -1;
	/* The kinds swept, level by level: "nmi,db,mc:nmi". */
	for (int d = 0; d < opt->depth; d++)
		for (int k = 0, first = 1; k < EVENT_KIND_COUNT; k++)
			if (opt->events[d] & (1u << k)) {
				snprintf(events + strlen(events),
					 sizeof(events) - strlen(events),
					 "%s%s", first ? (d ? ":" : "") : ",",
					 injector_for(k)->name);
				first = 0;
			}
	for (size_t i = 0; i < st->n; i++)
		r[i] = st->stubs[i].result;
	if ((cli->junit && ci_write_junit(cli->junit, &run, r, st->n,
					  &st->coverage, err, sizeof(err))) ||
	    (cli->json_out && ci_write_json(cli->json_out, &run, r, st->n,
					    &st->coverage, err, sizeof(err)))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		rc = -1;
	}
	free(r);
	if (!rc && cli->coverage &&
	    coverage_save(cli->coverage, cli->merge, &st->coverage, err,
			  sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		rc = -1;
	}
	return rc;
}

/* One line per stub over everything the state holds. */
static void print_summary(FILE *f, const struct sweep_state *st)
{
	fprintf(f, "summary (all runs of this sweep%s):\n",
		st->shard[0] ? ", this shard" : "");
	for (size_t i = 0; i < st->n; i++) {
		const struct state_stub *s = &st->stubs[i];
		struct depth_counts t = {0};

		for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
			depth_counts_add(&t, &s->result.counts[d]);
		fprintf(f,
			"  %-20s %-8s %8zu schedules %6zu failed %4zu "
			"unexpected %4zu no longer failing\n",
			s->result.name,
			s->progress == STUB_DONE      ? "done"
			: s->progress == STUB_STOPPED ? "stopped"
						      : "pending",
			t.schedules, t.failed + t.outside, s->result.unexpected,
			s->result.no_longer_failing);
	}
}

/* --- sweep -----------------------------------------------------------------
 */

static int parse_shard(const char *text, unsigned *k, unsigned *n)
{
	int used = 0;

	if (!text) {
		*k = 0;
		*n = 1;
		return 0;
	}
	if (sscanf(text, "%u/%u%n", k, n, &used) != 2 || text[used] ||
	    *n == 0 || *k == 0 || *k > *n) {
		fprintf(stderr,
			"ist-torture: --shard is K/N with 1 <= K <= N (e.g. "
			"2/4), not '%s'\n",
			text);
		return -1;
	}
	*k -= 1; /* ordinals modulo N */
	return 0;
}

/* The state to go on from (backend: the back end's name alone, "qemu"): read
 * from --resume when it exists (and was made with the same options), else a new
 * one. */
static int open_state(const struct cli *cli, const char *options,
		      const char *backend, struct sweep_state *st)
{
	char err[700];
	int rc = cli->resume
			 ? sweep_state_read(cli->resume, st, err, sizeof(err))
			 : (sweep_state_init(st), 1);

	if (rc < 0) {
		fprintf(stderr, "ist-torture: %s\n", err);
		return -1;
	}
	if (rc == 0 && strcmp(st->options, options)) {
		fprintf(stderr,
			"ist-torture: %s was made by a sweep with other "
			"options "
			"(%s): resume with those, or give a new state file\n",
			cli->resume, st->options);
		return -1;
	}
	if (rc == 0)
		printf("resuming from %s (%.0f s swept before)\n\n",
		       cli->resume, st->seconds);
	snprintf(st->options, sizeof(st->options), "%s", options);
	snprintf(st->backend, sizeof(st->backend), "%s", backend);
	snprintf(st->shard, sizeof(st->shard), "%s",
		 cli->shard ? cli->shard : "");
	return 0;
}

/* Sweeps one stub, or its rest after the state's position, into the
 * state. Returns 1 on a harness error, 2 when the stub is not a stub. */
static int sweep_one(const struct catalogue *cat, size_t i, struct vm *vm,
		     struct sweep_options *opt, struct sweep_state *st,
		     struct progress *pr, int *progressed)
{
	struct state_stub *ss = sweep_state_stub(st, cat->names[i]);
	struct stub_result part;
	struct stub_sweep s;
	char path[4096];
	int harness_error, rc = 0;

	if (ss->progress == STUB_DONE) {
		printf("stub %s: done by an earlier run (see the summary)\n\n",
		       cat->names[i]);
		return 0;
	}
	if (!ss->result.swept) { /* not a stub last time: perhaps now */
		ss->result.swept = 1;
		ss->result.error[0] = 0;
	}
	opt->resume_len = ss->progress == STUB_STOPPED ? ss->position_len : 0;
	memcpy(opt->resume, ss->position, sizeof(opt->resume));
	pr->stub = cat->names[i];
	pr->start = now_seconds();
	catalogue_path(cat, i, path, sizeof(path));
	if (sweep_stub(vm, cat->names[i], path, opt, &s, &harness_error) &&
	    !harness_error && !s.golden_failed) {
		/* Not loadable, or the state's coverage map is of another
		 * build of the stub: bad input, and nothing recorded. */
		if (s.loaded)
			fprintf(stderr, "ist-torture: %s\n", s.error);
		end_progress(pr);
		if (!s.loaded) {
			report_stub(stdout, &s);
			/* Said in the reports too; still pending, so that a
			 * resume tries it again once it is fixed. */
			ss->result.swept = 0;
			snprintf(ss->result.error, sizeof(ss->result.error),
				 "%s", s.error);
		}
		stub_sweep_free(&s);
		return 2;
	}
	end_progress(pr);
	if (opt->resume_len && s.loaded)
		printf("(stub %s resumes after schedule %u", s.name,
		       opt->resume[0]);
	for (int l = 1; opt->resume_len && s.loaded && l < opt->resume_len; l++)
		printf(".%u", opt->resume[l]);
	if (opt->resume_len && s.loaded)
		printf(": the counts below are of this run only)\n");
	report_stub(stdout, &s);
	fflush(stdout);
	if (harness_error)
		rc = 1;
	if (stub_result_from_sweep(&part, &s, opt->crash_dir) == 0)
		stub_result_add(&ss->result, &part);
	stub_result_free(&part);
	*progressed |= s.position_len > 0;
	if (!s.stopped) {
		ss->progress = STUB_DONE;
		ss->position_len = 0;
	} else if (s.position_len) {
		ss->progress = STUB_STOPPED;
		ss->position_len = s.position_len;
		memcpy(ss->position, s.position, sizeof(ss->position));
	}
	stub_sweep_free(&s);
	return rc;
}

static int sweep_with_workers(const struct cli *cli,
			      const struct catalogue *cat);
static int resumes_another_kind(const char *resume, int jobs);

int cmd_sweep(const struct cli *cli, const struct catalogue *cat)
{
	char *selected = calloc(cat->n ? cat->n : 1, 1);
	int status, harness_error = 0, bad_input = 0, stopped = 0;
	int progressed = 0; /* this run tried a schedule */
	struct progress pr = {.on = isatty(STDERR_FILENO)};
	char options[1024], err[600], backend[16];
	struct sweep_options opt;
	struct sweep_state st;
	double start = now_seconds();
	struct vm *vm;

	if (cli->jobs > 1) {
		free(selected);
		return sweep_with_workers(cli, cat);
	}
	if (!selected || select_stubs(cat, cli->stubs, selected)) {
		free(selected);
		return EXIT_USAGE;
	}
	if (open_backend(cli, &vm) || fit_to_backend(vm, cli, &opt) ||
	    parse_shard(cli->shard, &opt.shard_index, &opt.shard_count)) {
		vm_close(vm);
		free(selected);
		return EXIT_USAGE;
	}
	opt.crash_dir = cli->crash_dir;
	snprintf(backend, sizeof(backend), "%.*s",
		 (int)strcspn(vm_backend(vm), " "), vm_backend(vm));
	fingerprint(cli, cat, selected, &opt, backend, options,
		    sizeof(options));
	if ((cli->resume && resumes_another_kind(cli->resume, 1)) ||
	    open_state(cli, options, backend, &st)) {
		vm_close(vm);
		free(selected);
		return EXIT_USAGE;
	}
	catch_stop_signals();
	opt.coverage = &st.coverage;
	opt.stop = &stop_requested;
	opt.deadline = cli->time_budget ? start + cli->time_budget : 0;
	opt.progress = show_progress;
	opt.progress_ctx = &pr;
	report_header(stdout, vm_backend(vm), &opt);
	if (cli->shard)
		printf("shard %s: the first injections whose ordinal is %u "
		       "modulo %u\n\n",
		       cli->shard, opt.shard_index, opt.shard_count);
	for (size_t i = 0; i < cat->n; i++) {
		int rc;

		if (!selected[i])
			continue;
		/* Listed in the state (pending) even when not reached. */
		sweep_state_stub(&st, cat->names[i]);
		if (stop_requested || (opt.deadline && progressed &&
				       now_seconds() >= opt.deadline)) {
			stopped = 1;
			continue;
		}
		rc = sweep_one(cat, i, vm, &opt, &st, &pr, &progressed);
		harness_error |= rc == 1;
		bad_input |= rc == 2;
	}
	stopped |= !sweep_state_complete(&st);
	st.seconds += now_seconds() - start;
	status = status_of(&st, harness_error, bad_input);
	if (cli->resume &&
	    sweep_state_write(cli->resume, &st, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		status = EXIT_HARNESS;
	}
	if (write_outputs(cli, &st, &opt, status))
		status = EXIT_USAGE;
	print_summary(stdout, &st);
	if (stopped)
		printf("stopped %s before the end: %s\n",
		       stop_requested ? "by a signal" : "at its time budget",
		       cli->resume ? "resume with the same command (--resume "
				     "keeps the state)"
				   : "give --resume STATE to be able to go on");
	printf("result: %s\n", status_words(status));
	sweep_state_free(&st);
	vm_close(vm);
	free(selected);
	return status;
}

/* The depth, event kinds and seed a state's options line names (see
 * fingerprint), for the merged report. */
static void options_of(const char *options, struct sweep_options *opt)
{
	const char *p = strstr(options, " depth=");
	int n = 0;

	if (p && sscanf(p, " depth=%d events=%n", &opt->depth, &n) == 1 && n) {
		p += n;
		for (int d = 0; d < opt->depth && d < SCHEDULE_MAX_DEPTH; d++) {
			if (sscanf(p, "0x%x%n", &opt->events[d], &n) != 1)
				break;
			p += n + (*(p + n) == ':');
		}
	}
	p = strstr(options, " seed=");
	if (p)
		sscanf(p, " seed=%" SCNu64, &opt->seed);
}

/* Are two states' options (fingerprint) equal but for their shard? */
static int same_but_shard(const char *a, const char *b)
{
	size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
	const char *sa = strstr(a, " shard="), *sb = strstr(b, " shard=");

	/* The shard is the options' last word. */
	if (sa)
		la = (size_t)(sa - a);
	if (sb)
		lb = (size_t)(sb - b);
	return la == lb && !strncmp(a, b, la);
}

/* Is shard (K/N) one more of the same N as shards[0..n), none of them
 * K? An unsharded state merges with nothing. */
static int other_shard(const char (*shards)[32], int n, const char *shard)
{
	unsigned k, total, k0, total0;

	if (sscanf(shard, "%u/%u", &k, &total) != 2 ||
	    sscanf(shards[0], "%u/%u", &k0, &total0) != 2 || total != total0)
		return 0;
	for (int i = 0; i < n; i++)
		if (!strcmp(shards[i], shard))
			return 0;
	return 1;
}

/* How many shards of the sweep (K/N) no state brings; 0 when not sharded
 * or all are there. */
static int missing_shards(const char (*shards)[32], int n)
{
	unsigned k, total;
	uint64_t have = 0;

	if (sscanf(shards[0], "%u/%u", &k, &total) != 2 || total > 64)
		return 0;
	for (int i = 0; i < n; i++)
		if (sscanf(shards[i], "%u/%u", &k, &total) == 2 && k >= 1 &&
		    k <= 64)
			have |= 1ull << (k - 1);
	return (int)total - __builtin_popcountll(have);
}

/* --- merge -----------------------------------------------------------------
 */

/* Merges the states in files[0..n) into all (initialised here), each a
 * different shard of one sweep; their shards into shards[0..n). -1 (said)
 * on a state that cannot be read or is not another shard of the same. */
static int merge_states(char *const *files, int n, struct sweep_state *all,
			char (*shards)[32], int warn_incomplete)
{
	char err[700];

	sweep_state_init(all);
	snprintf(all->backend, sizeof(all->backend), "merged");
	for (int f = 0; f < n; f++) {
		struct sweep_state one;
		int rc = sweep_state_read(files[f], &one, err, sizeof(err));

		if (rc) {
			if (rc > 0)
				snprintf(err, sizeof(err),
					 "%s: no such sweep state", files[f]);
			fprintf(stderr, "ist-torture: %s\n", err);
			sweep_state_free(&one);
			return -1;
		}
		if (warn_incomplete && !sweep_state_complete(&one))
			printf("warning: %s stopped before its end: the "
			       "merged report is incomplete\n",
			       files[f]);
		for (size_t i = 0; i < one.n; i++) {
			struct state_stub *to =
				sweep_state_stub(all, one.stubs[i].result.name);

			/* Merged, a stub is done only when it is in every
			 * state and done in each. */
			if (f == 0)
				to->progress = one.stubs[i].progress;
			else if (one.stubs[i].progress != STUB_DONE)
				to->progress = STUB_PENDING;
			stub_result_add(&to->result, &one.stubs[i].result);
		}
		if (f == 0) {
			snprintf(all->options, sizeof(all->options), "%s",
				 one.options);
		} else if (!same_but_shard(all->options, one.options) ||
			   !other_shard(shards, f, one.shard)) {
			fprintf(stderr,
				"ist-torture: %s is not another shard of the "
				"sweep %s is of (%s; %s): merge each shard of "
				"one sweep once\n",
				files[f], files[0],
				one.shard[0] ? one.shard : "not sharded",
				one.options);
			sweep_state_free(&one);
			return -1;
		}
		snprintf(shards[f], sizeof(shards[f]), "%s", one.shard);
		if (all->seconds < one.seconds)
			all->seconds = one.seconds;
		if (coverage_merge(&all->coverage, &one.coverage, err,
				   sizeof(err))) {
			fprintf(stderr, "ist-torture: %s: %s\n", files[f], err);
			sweep_state_free(&one);
			return -1;
		}
		sweep_state_free(&one);
	}
	return 0;
}

int cmd_merge(const struct cli *cli)
{
	struct sweep_options opt = cli->opt;
	struct sweep_state all;
	int status;
	char(*shards)[32] = calloc((size_t)cli->nfiles, sizeof(*shards));
	int missing;

	if (!shards)
		return EXIT_HARNESS;
	if (merge_states(cli->files, cli->nfiles, &all, shards, 1)) {
		sweep_state_free(&all);
		free(shards);
		return EXIT_USAGE;
	}
	options_of(all.options, &opt);
	missing = missing_shards(shards, cli->nfiles);
	if (missing)
		/* Reported as it is, incomplete, and the merge fails. */
		for (size_t i = 0; i < all.n; i++)
			all.stubs[i].progress = STUB_PENDING;
	status = missing ? EXIT_USAGE : status_of(&all, 0, 0);
	if (write_outputs(cli, &all, &opt, status))
		status = EXIT_USAGE;
	print_summary(stdout, &all);
	if (missing)
		fprintf(stderr,
			"ist-torture: %d of the sweep's %s shards are not "
			"among the states: the report is incomplete (merge the "
			"state of every shard)\n",
			missing, strchr(shards[0], '/') + 1);
	printf("result: %s\n",
	       missing ? "INCOMPLETE: shards missing" : status_words(status));
	sweep_state_free(&all);
	free(shards);
	return status;
}

/* --- sweep --jobs N ---------------------------------------------------------
 * N workers, one VM each, each a shard of the sweep (of the user's shard,
 * when one is given) with a state of its own; the parent merges their
 * states as `merge` does and reports from the merged results.
 */

struct job_plan {
	const struct cli *cli;
	const struct catalogue *cat;
	int jobs;
	unsigned shard_index, shard_count; /* the user's --shard, or 0/1 */
	char dir[64];			   /* the workers' output */
	char **state;			   /* each worker's state file */
};

static void worker_file(const struct job_plan *p, int w, const char *what,
			char *path, size_t len)
{
	snprintf(path, len, "%s/w%d.%s", p->dir, w + 1, what);
}

/* Worker w's shard: ordinals k + N*w modulo N*jobs, all k modulo N. */
static void worker_shard(const struct job_plan *p, int w, char *shard,
			 size_t len)
{
	snprintf(shard, len, "%u/%u",
		 p->shard_index + p->shard_count * (unsigned)w + 1,
		 p->shard_count * (unsigned)p->jobs);
}

static int run_worker(void *ctx, int w)
{
	struct job_plan *p = ctx;
	struct cli c = *p->cli;
	char shard[32], out[128], errors[128];
	FILE *rss;
	int rc;

	tempdir_forget_all(); /* the parent's, not this worker's to remove */
	worker_shard(p, w, shard, sizeof(shard));
	worker_file(p, w, "out", out, sizeof(out));
	worker_file(p, w, "err", errors, sizeof(errors));
	if (!freopen(out, "w", stdout) || !freopen(errors, "w", stderr))
		return EXIT_HARNESS;
	c.jobs = 0;
	c.shard = shard;
	c.resume = p->state[w];
	c.junit = c.json_out = c.coverage = NULL;
	c.merge = 0;
	rc = cmd_sweep(&c, p->cat);
	/* Its peak memory, and its QEMU's (a child it has waited for). */
	worker_file(p, w, "rss", out, sizeof(out));
	rss = fopen(out, "w");
	if (rss) {
		struct rusage self, kids;

		getrusage(RUSAGE_SELF, &self);
		getrusage(RUSAGE_CHILDREN, &kids);
		fprintf(rss, "%ld %ld\n", self.ru_maxrss, kids.ru_maxrss);
		fclose(rss);
	}
	return rc;
}

/* The largest peak resident memory of a worker, and of a worker's QEMU
 * (0 on KVM), in KiB. */
static void worker_peaks(const struct job_plan *p, long *harness, long *qemu)
{
	char path[128];

	*harness = *qemu = 0;
	for (int w = 0; w < p->jobs; w++) {
		long self = 0, kids = 0;
		FILE *f;

		worker_file(p, w, "rss", path, sizeof(path));
		f = fopen(path, "r");
		if (f && fscanf(f, "%ld %ld", &self, &kids) == 2) {
			*harness = self > *harness ? self : *harness;
			*qemu = kids > *qemu ? kids : *qemu;
		}
		if (f)
			fclose(f);
	}
}

/* What the workers said on stderr, each line once: they all open the same
 * back end and read the same stubs, so most of it is said by each. */
static void relay_worker_errors(const struct job_plan *p)
{
	char **seen = NULL, line[1024], path[128];
	size_t nseen = 0;

	for (int w = 0; w < p->jobs; w++) {
		FILE *f;

		worker_file(p, w, "err", path, sizeof(path));
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f)) {
			size_t i = 0;

			while (i < nseen && strcmp(seen[i], line))
				i++;
			/* The parent said it already, opening its probe. */
			if (i < nseen || strstr(line, "on QEMU instead"))
				continue;
			fputs(line, stderr);
			seen = xrealloc(seen, nseen + 1, sizeof(*seen));
			seen[nseen++] = xstrdup(line);
		}
		if (f)
			fclose(f);
	}
	for (size_t i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
}

/* With --resume STATE, a sweep with -j N keeps its workers' states in
 * STATE.1ofN ... STATE.NofN, one without -j keeps STATE: neither resumes
 * the other's, nor those of another N. Said, and 1, when STATE is of
 * another kind. */
static int resumes_another_kind(const char *resume, int jobs)
{
	char pattern[4200], mine[4200];
	glob_t g;
	int other = 0;

	if (jobs > 1 && access(resume, F_OK) == 0) {
		fprintf(stderr,
			"ist-torture: %s is the state of a sweep without -j: "
			"resume it without -j, or give a new state file\n",
			resume);
		return 1;
	}
	snprintf(pattern, sizeof(pattern), "%s.*of*", resume);
	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc && !other; i++) {
		int w, n, used = 0;

		snprintf(mine, sizeof(mine), "%s.", resume);
		if (sscanf(g.gl_pathv[i] + strlen(mine), "%dof%d%n", &w, &n,
			   &used) != 2 ||
		    g.gl_pathv[i][strlen(mine) + (size_t)used] || n == jobs)
			continue;
		fprintf(stderr,
			"ist-torture: %s is a worker's state of a sweep with "
			"-j %d: resume with -j %d, or give a new state file\n",
			g.gl_pathv[i], n, n);
		other = 1;
	}
	globfree(&g);
	return other;
}

/* The workers' states that exist were made with these options (each its
 * own shard); said, and -1, when one was not. */
static int worker_states_fit(const struct job_plan *p, const char *selected,
			     const struct sweep_options *opt,
			     const char *backend)
{
	for (int w = 0; w < p->jobs; w++) {
		struct cli c = *p->cli;
		struct sweep_state st;
		char shard[32], options[1024], err[700];
		int rc;

		if (access(p->state[w], F_OK))
			continue;
		worker_shard(p, w, shard, sizeof(shard));
		c.shard = shard;
		fingerprint(&c, p->cat, selected, opt, backend, options,
			    sizeof(options));
		rc = sweep_state_read(p->state[w], &st, err, sizeof(err));
		if (rc < 0)
			fprintf(stderr, "ist-torture: %s\n", err);
		else if (strcmp(st.options, options))
			fprintf(stderr,
				"ist-torture: %s was made by a sweep with "
				"other options (%s): resume with those, or "
				"give "
				"a new state file\n",
				p->state[w], st.options);
		rc = rc < 0 || strcmp(st.options, options);
		sweep_state_free(&st);
		if (rc)
			return -1;
	}
	return 0;
}

/* The workers' files, tracked so that even a second Ctrl-C, which ends
 * the parent at once, removes them. */
static int track_job_files(const struct job_plan *p)
{
	static const char *const what[] = {"out", "err", "state", "rss"};
	char **names = xcalloc((size_t)p->jobs * 4, sizeof(*names));
	int rc;

	for (int w = 0; w < p->jobs; w++)
		for (int i = 0; i < 4; i++) {
			char name[32];

			snprintf(name, sizeof(name), "w%d.%s", w + 1, what[i]);
			names[w * 4 + i] = xstrdup(name);
		}
	rc = tempdir_track(p->dir, (const char *const *)names, p->jobs * 4);
	for (int i = 0; i < p->jobs * 4; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int sweep_with_workers(const struct cli *cli,
			      const struct catalogue *cat)
{
	struct job_plan p = {.cli = cli, .cat = cat, .jobs = cli->jobs};
	char *selected = calloc(cat->n ? cat->n : 1, 1);
	char options[1024], backend[16], err[300];
	int harness_error = 0, bad_input = 0, status = EXIT_USAGE;
	int made_dir = 0, nstates = 0;
	long peak, peak_qemu;
	char **states = xcalloc((size_t)cli->jobs, sizeof(*states));
	char(*shards)[32] = xcalloc((size_t)p.jobs, sizeof(*shards));
	struct sweep_options opt;
	struct sweep_state all;
	struct workers w;
	struct vm *vm = NULL;
	double start = now_seconds();

	sweep_state_init(&all);
	p.state = xcalloc((size_t)p.jobs, sizeof(*p.state));
	snprintf(p.dir, sizeof(p.dir), "/tmp/ist-torture-jobs.XXXXXX");
	/* Bad input is said here, once, before any worker starts. */
	if (!selected || select_stubs(cat, cli->stubs, selected) ||
	    open_backend(cli, &vm) || fit_to_backend(vm, cli, &opt) ||
	    parse_shard(cli->shard, &p.shard_index, &p.shard_count))
		goto out;
	snprintf(backend, sizeof(backend), "%.*s",
		 (int)strcspn(vm_backend(vm), " "), vm_backend(vm));
	fingerprint(cli, cat, selected, &opt, backend, options,
		    sizeof(options));
	report_header(stdout, vm_backend(vm), &opt);
	vm_close(vm);
	vm = NULL;
	if (!mkdtemp(p.dir)) {
		fprintf(stderr, "ist-torture: cannot make %s: %s\n", p.dir,
			strerror(errno));
		status = EXIT_HARNESS;
		goto out;
	}
	made_dir = 1;
	if (track_job_files(&p)) {
		fprintf(stderr, "ist-torture: cannot track %s for removal\n",
			p.dir);
		rmdir(p.dir);
		made_dir = 0;
		status = EXIT_HARNESS;
		goto out;
	}
	for (int i = 0; i < p.jobs; i++) {
		char path[4200];

		if (cli->resume)
			snprintf(path, sizeof(path), "%s.%dof%d", cli->resume,
				 i + 1, p.jobs);
		else
			worker_file(&p, i, "state", path, sizeof(path));
		p.state[i] = xstrdup(path);
	}
	if (cli->resume && (resumes_another_kind(cli->resume, p.jobs) ||
			    worker_states_fit(&p, selected, &opt, backend)))
		goto out;
	printf("%d workers, one VM each: worker W sweeps the first injections "
	       "whose ordinal is %u + %u(W-1) modulo %u\n",
	       p.jobs, p.shard_index, p.shard_count,
	       p.shard_count * (unsigned)p.jobs);
	if (cli->resume)
		printf("each keeps its state in %s.Wof%d\n", cli->resume,
		       p.jobs);
	printf("\n");
	catch_stop_signals();
	if (workers_start(&w, p.jobs, run_worker, &p, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		status = EXIT_HARNESS;
		goto out;
	}
	workers_wait(&w, &stop_requested);
	relay_worker_errors(&p);
	for (int i = 0; i < p.jobs; i++) {
		if (w.status[i] >= 128 || access(p.state[i], F_OK)) {
			fprintf(stderr,
				"ist-torture: worker %d ended (status %d) "
				"without its state: its part is not in the "
				"report\n",
				i + 1, w.status[i]);
			harness_error = 1;
		} else {
			states[nstates++] = p.state[i];
		}
		harness_error |= w.status[i] == EXIT_HARNESS;
		bad_input |= w.status[i] == EXIT_USAGE;
	}
	sweep_state_free(&all);
	if (merge_states(states, nstates, &all, shards, 0)) {
		status = EXIT_HARNESS;
		goto out;
	}
	snprintf(all.options, sizeof(all.options), "%s", options);
	snprintf(all.backend, sizeof(all.backend), "%s", backend);
	snprintf(all.shard, sizeof(all.shard), "%s",
		 cli->shard ? cli->shard : "");
	all.seconds = now_seconds() - start;
	for (size_t i = 0; i < all.n; i++) {
		const struct state_stub *ss = &all.stubs[i];
		struct depth_counts t = {0};

		for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
			depth_counts_add(&t, &ss->result.counts[d]);
		if (ss->progress == STUB_PENDING && !t.schedules &&
		    ss->result.swept) {
			printf("stub %s: not reached before the stop\n\n",
			       ss->result.name);
			continue;
		}
		if (ss->progress != STUB_DONE && ss->result.swept)
			printf("(stub %s stopped before its end: its counts "
			       "are of what was swept)\n",
			       ss->result.name);
		report_result(stdout, &ss->result);
	}
	worker_peaks(&p, &peak, &peak_qemu);
	printf("workers: %d; peak resident memory of the largest: %ld MiB",
	       p.jobs, peak / 1024);
	if (peak_qemu)
		printf(", of its QEMU: %ld MiB", peak_qemu / 1024);
	printf("\n\n");
	status = status_of(&all, harness_error, bad_input);
	if (write_outputs(cli, &all, &opt, status))
		status = EXIT_USAGE;
	print_summary(stdout, &all);
	if (!sweep_state_complete(&all))
		printf("stopped %s before the end: %s\n",
		       stop_requested ? "by a signal" : "at its time budget",
		       cli->resume ? "resume with the same command (the "
				     "workers keep their states)"
				   : "give --resume STATE to be able to go on");
	printf("result: %s\n", status_words(status));
out:
	if (vm)
		vm_close(vm);
	if (made_dir)
		tempdir_release(p.dir);
	for (int i = 0; i < p.jobs; i++)
		free(p.state[i]);
	free(p.state);
	free(states);
	free(shards);
	free(selected);
	sweep_state_free(&all);
	return status;
}
