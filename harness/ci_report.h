/* Sweep reports for CI dashboards: JUnit XML (GitLab, Jenkins, GitHub
 * test reporters read it as is) and JSON for everything else. Both are
 * written from stub results and the coverage map, so a sweep, a resumed
 * sweep and the merge of shards all report the same way. The schema is in
 * docs/ci.md.
 */
#ifndef IST_CI_REPORT_H
#define IST_CI_REPORT_H

#include "coverage.h"
#include "sweep_result.h"

/* What the whole run was. */
struct ci_run {
	const char *backend; /* "kvm", "qemu", or "merged" */
	uint64_t seed;
	int depth;
	const char *events; /* as given, e.g. "nmi,db,mc" or "nmi:db" */
	const char *shard;  /* "K/N", or NULL for all schedules */
	int complete;	    /* 0: stopped at its time budget or a signal */
	double seconds;	    /* wall-clock time of the sweep */
	int exit_status;    /* what the process exits with (README) */
};

/* Testsuite per stub; testcase per (window, event kind, depth) the
 * coverage map has trials in (or a failure: cov may be NULL), named
 * "<window> / <event> / depth <d>", failing when a schedule in it is not
 * as declared (its failure element carries the field-by-field divergence
 * and the crash file's path), in error on a harness error; declared
 * failures and those outside assumptions are listed in its system-out. A
 * stub that could not be swept is one testcase with an error element (a
 * failure when its golden run fails). Atomic write. */
int ci_write_junit(const char *path, const struct ci_run *run,
		   const struct stub_result *r, size_t n,
		   const struct coverage *cov, char *err, size_t errlen);

/* One JSON object: the run, then per stub "schedules" (run), "failures"
 * (schedules that failed, declared or not, inside or outside the
 * assumptions), the other counts, "per_depth", "failure_list" (each with
 * its signature, verdict, crash file path) and "windows" (the coverage
 * map by window, event and depth; cov may be NULL). Every key is in
 * docs/ci.md. Atomic write. */
int ci_write_json(const char *path, const struct ci_run *run,
		  const struct stub_result *r, size_t n,
		  const struct coverage *cov, char *err, size_t errlen);

#endif
