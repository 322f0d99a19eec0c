/* ist-torture fuzz: the libFuzzer target (fuzz/schedule_fuzz.c) run on one
 * stub with its seed corpus, a working corpus and the crash directory set,
 * and what it did summed up at the end: schedules run, their rate, new
 * coverage, crash files written. docs/fuzzing.md shows plain libFuzzer use
 * of the same target. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#ifndef IST_FUZZ_BIN
#define IST_FUZZ_BIN ""
#endif
#ifndef IST_CORPUS_DIR
#define IST_CORPUS_DIR "corpus"
#endif

/* The crash files in dir, as a set of names (sorted, '\n'-joined). */
static char *crash_files(const char *dir)
{
	size_t len = 0, cap = 1;
	char *list = calloc(1, 1);
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && list && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char *grown;

		if (n < 7 || strcmp(e->d_name + n - 6, ".crash"))
			continue;
		grown = realloc(list, cap + n + 1);
		if (!grown)
			break;
		list = grown;
		cap += n + 1;
		memcpy(list + len, e->d_name, n);
		len += n;
		list[len++] = '\n';
		list[len] = 0;
	}
	if (d)
		closedir(d);
	return list;
}

/* Is name one of list's lines? */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p; p = strchr(p, '\n') + 1)
		if (!strncmp(p, name, n) && p[n] == '\n')
			return 1;
	return 0;
}

static int mkdirs(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(buf, 0777) && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(buf, 0777) && errno != EEXIST ? -1 : 0;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What libFuzzer printed that the summary needs. */
struct fuzz_stats {
	unsigned long runs, new_units, features;
};

static void scan_line(const char *line, struct fuzz_stats *st)
{
	const char *ft = strstr(line, " ft: ");
	unsigned long v;

	if (sscanf(line, "stat::number_of_executed_units: %lu", &v) == 1)
		st->runs = v;
	else if (sscanf(line, "stat::new_units_added: %lu", &v) == 1)
		st->new_units = v;
	else if (sscanf(line, "#%lu", &v) == 1 && v > st->runs)
		st->runs = v; /* fork mode prints no final stats */
	if (ft && sscanf(ft, " ft: %lu", &v) == 1)
		st->features = v;
}

int cmd_fuzz(const struct cli *cli, const struct catalogue *cat)
{
	char corpus[4096], seeds[4096], arg_time[64], arg_art[4200],
		arg_fork[64], depth[16], line[2048];
	const char *crash_dir = cli->crash_dir ? cli->crash_dir : "crashes";
	struct fuzz_stats st = {0};
	char *before, *after;
	int pipefd[2], status, n = 0;
	double start;
	char *argv[12];
	FILE *out;
	pid_t pid;

	if (!IST_FUZZ_BIN[0] || access(IST_FUZZ_BIN, X_OK)) {
		fprintf(stderr,
			"ist-torture: this build has no fuzz target (%s): "
			"install clang (apt-get install clang) and build again "
			"with -DIST_FUZZ=ON\n",
			IST_FUZZ_BIN[0] ? IST_FUZZ_BIN : "IST_FUZZ=OFF");
		return EXIT_USAGE;
	}
	if (catalogue_find(cat, cli->stubs) < 0) {
		char known[2048];

		fprintf(stderr,
			"ist-torture: fuzz wants one stub (--stub NAME), not "
			"'%s'; known stubs: %s\n",
			cli->stubs, catalogue_names(cat, known, sizeof(known)));
		return EXIT_USAGE;
	}
	snprintf(corpus, sizeof(corpus), "fuzz-corpus/%s", cli->stubs);
	snprintf(seeds, sizeof(seeds), "%s/%s", IST_CORPUS_DIR, cli->stubs);
	if (mkdirs(corpus) || mkdirs(crash_dir)) {
		fprintf(stderr,
			"ist-torture: cannot make %s or %s here: %s (run from "
			"a directory you can write)\n",
			corpus, crash_dir, strerror(errno));
		return EXIT_USAGE;
	}
	/* The target's own settings: environment (fuzz/schedule_fuzz.c). */
	setenv("IST_FUZZ_STUB", cli->stubs, 1);
	setenv("IST_GUEST_DIR", cli->guest_dir, 1);
	setenv("IST_FUZZ_CRASH_DIR", crash_dir, 1);
	setenv("IST_FUZZ_BACKEND",
	       cli->backend == BACKEND_KVM	  ? "kvm"
	       : cli->backend == BACKEND_QEMU	  ? "qemu"
	       : cli->backend == BACKEND_QEMU_KVM ? "qemu-kvm"
						  : "auto",
	       1);
	snprintf(depth, sizeof(depth), "%d",
		 cli->depth_given ? cli->opt.depth : 3);
	setenv("IST_FUZZ_DEPTH", depth, 1);
	if (cli->events_spec)
		setenv("IST_FUZZ_EVENTS", cli->events_spec, 1);
	if (cli->coverage)
		setenv("IST_FUZZ_COVERAGE", cli->coverage, 1);

	snprintf(arg_time, sizeof(arg_time), "-max_total_time=%.0f",
		 cli->time_budget ? cli->time_budget : 60);
	snprintf(arg_art, sizeof(arg_art), "-artifact_prefix=%s/", crash_dir);
	argv[n++] = (char *)IST_FUZZ_BIN;
	argv[n++] = arg_time;
	argv[n++] = arg_art;
	argv[n++] = "-print_final_stats=1";
	/* Several jobs: libFuzzer's fork mode, which goes on past a crash
	 * (each is a crash file already). */
	if (cli->jobs > 1) {
		snprintf(arg_fork, sizeof(arg_fork), "-fork=%d", cli->jobs);
		argv[n++] = arg_fork;
		argv[n++] = "-ignore_crashes=1";
	}
	argv[n++] = corpus;
	if (access(seeds, R_OK) == 0)
		argv[n++] = seeds;
	argv[n] = NULL;

	before = crash_files(crash_dir);
	fflush(stdout);
	if (pipe(pipefd)) {
		perror("ist-torture: pipe");
		return EXIT_HARNESS;
	}
	start = now_seconds();
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	/* libFuzzer's lines go on to the user as they come; the summary
	 * reads them on the way. */
	out = fdopen(pipefd[0], "r");
	while (out && fgets(line, sizeof(line), out)) {
		fputs(line, stderr);
		scan_line(line, &st);
	}
	if (out)
		fclose(out);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		status = 127 << 8;
	after = crash_files(crash_dir);

	printf("fuzz %s: %lu schedules in %.0f s (%.1f/s), %lu new inputs, "
	       "%lu coverage features\n",
	       cli->stubs, st.runs, now_seconds() - start,
	       st.runs / (now_seconds() - start + 1e-9), st.new_units,
	       st.features);
	n = 0;
	for (char *name = after; name && *name;) {
		char *end = strchr(name, '\n');

		*end = 0;
		if (!listed(before, name)) {
			printf("  crash file: %s/%s\n", crash_dir, name);
			n++;
		}
		name = end + 1;
	}
	printf("  %d new crash file%s (replay them: ist-torture replay "
	       "FILE)\n",
	       n, n == 1 ? "" : "s");
	free(before);
	free(after);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		fprintf(stderr, "ist-torture: cannot run %s\n", IST_FUZZ_BIN);
		return EXIT_HARNESS;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2 && !st.runs)
		return EXIT_USAGE; /* the target said why, on stderr */
	return n ? EXIT_NOT_AS_DECLARED : EXIT_AS_DECLARED;
}
