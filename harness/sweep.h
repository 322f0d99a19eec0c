/* An exhaustive sweep of one stub: its golden run, then every schedule up
 * to the requested depth, depth first: a trial per (boundary, event) of a
 * trace, and under each delivered event the trace after it, recorded once
 * and freed once its schedules are done. Each trial is judged by the
 * oracle against the model's expected deliveries, and classified against
 * what the stub declares (EXPECT) and assumes (ASSUME).
 */
#ifndef IST_SWEEP_H
#define IST_SWEEP_H

#include <signal.h>

#include "../injectors/injector.h"
#include "coverage.h"
#include "fixup.h"
#include "oracle.h"
#include "schedule.h"
#include "stepper.h"

struct stub_sweep;
struct trace_cache;

/* A schedule's step as sweep_options.pick chooses it: the boundary (an
 * index into the trace), the event kind, and for a #DB whether it is the
 * data breakpoint of the MOV SS whose trap lands there (if one does). */
struct sweep_pick {
	size_t i;
	enum event_kind kind;
	int data;
};

struct sweep_options {
	uint64_t seed;
	unsigned timeout_ms;
	int depth; /* 1 .. SCHEDULE_MAX_DEPTH */
	/* Event kinds tried at each level (bit 1 << enum event_kind). */
	unsigned events[SCHEDULE_MAX_DEPTH];
	/* Narrowing of the injections, level by level, separated by '>':
	 * boundaries named after a symbol ("sym"), or exactly one
	 * ("sym+0x12"); a missing or empty level, or NULL, admits all. */
	const char *at;
	unsigned exec; /* only this execution of it; 0 for all */
	enum db_method db_method;
	size_t max_records; /* records kept; 0: SWEEP_MAX_RECORDS */
	/* Where each failure inside the stub's assumptions is written as a
	 * crash file, one per signature; NULL: nowhere. */
	const char *crash_dir;
	/* Replay: try this schedule alone (and its prefixes, on the way to
	 * it); its verdict goes to stub_sweep.only_verdict. */
	const struct schedule *only;
	/* Replay: called once the schedule's last step is judged, with the
	 * boundary where its event lands (and the vm, free to use). */
	void (*only_done)(void *ctx, struct vm *vm, const struct stub_sweep *s,
			  const struct boundary *at,
			  const struct injection *inj);
	void *only_ctx;
	/* Every trial and every boundary reached goes into this map too;
	 * NULL: none. */
	struct coverage *coverage;
	/* A partition of the schedules: those whose first injection's
	 * ordinal in the golden trace is shard_index modulo shard_count;
	 * shard_count 0 or 1: all. */
	unsigned shard_index, shard_count;
	/* Resume after the schedule at this position (stub_sweep.position):
	 * everything up to it was done by an earlier run. len 0: from the
	 * start. */
	unsigned resume[SCHEDULE_MAX_DEPTH];
	int resume_len;
	/* Stop cleanly, after the schedule running, once *stop is set (a
	 * signal) or the monotonic clock passes deadline (0: none). */
	volatile sig_atomic_t *stop;
	double deadline;
	/* Called after each first-level injection's schedules, and at most
	 * every few hundred trials between: a progress line. */
	void (*progress)(void *ctx, const struct stub_sweep *s, size_t done,
			 size_t total);
	void *progress_ctx;
	/* Follow one schedule chosen as it goes (the fuzzer): at each level,
	 * pick the boundary of that level's trace and the event kind among
	 * `events`; returns -1 to end the schedule there. Its prefixes are
	 * run and judged on the way, as with `only`. */
	int (*pick)(void *ctx, int level, const struct trace *t,
		    unsigned events, struct sweep_pick *out);
	void *pick_ctx;
	/* Called with every schedule run and judged. */
	void (*judged)(void *ctx, const struct stub_sweep *s,
		       const struct schedule *sc, const char *window,
		       const struct verdict *v, int as_declared,
		       const struct ist_assume *assumption);
	void *judged_ctx;
	/* Called after every trial run (not for schedules skipped or judged
	 * by an earlier run), with the boundary and event it started from,
	 * what it observed and the seconds trial_run took: the benchmark's
	 * hook. The vm is free to use until it returns. */
	void (*trial_done)(void *ctx, struct vm *vm, const struct stub_sweep *s,
			   int level, const struct boundary *at,
			   const struct injection *inj,
			   const struct observation *obs, double seconds);
	void *trial_done_ctx;
	/* Keep this many traces after an event, for schedules that share
	 * their prefix (the fuzzer's, run one at a time); 0: none. */
	size_t cache_traces;
};

struct depth_counts {
	size_t schedules; /* tried: run and judged */
	size_t passed, failed;
	size_t arch_shutdown; /* the CPU had to shut down */
	size_t outside;	      /* failed, but broke a declared assumption */
	size_t impossible;    /* the model says the event cannot arise there */
	/* Held (shadow, NMI blocked, IF=0) beyond the trace's last boundary:
	 * it lands outside entry text (after SYSRETQ, in user mode). */
	size_t held_out;
	/* The back end cannot raise the event as the schedule asks: a #DB
	 * by the guest's DR0 at the #DB gate itself refires on its own
	 * delivery. */
	size_t unraisable;
	size_t harness_errors;
};

/* Every schedule that did not plainly pass as declared. */
struct sweep_record {
	struct schedule sched;
	struct verdict verdict; /* the failure itself; a broken assumption
				   is `assumption`, not a verdict kind */
	uint64_t declared;	/* 0 (must pass) or IST_EXPECT_* */
	int as_declared;
	const struct ist_assume *assumption; /* the one broken, or NULL */
	char window[WINDOW_LABEL_MAX]; /* where the last event is raised */
	int reentry; /* an event entered an IST stack still in use */
};

#define SWEEP_MAX_RECORDS 4096

struct stub_sweep {
	char name[64];
	struct guest_image img;
	struct guest_layout lay;
	struct golden golden;
	int loaded;	   /* img, lay and golden are valid */
	int golden_failed; /* loadable, but fails without any injection */
	int depth;
	struct depth_counts counts[SCHEDULE_MAX_DEPTH];
	struct sweep_record *records;
	size_t nrecords, cap_records, max_records, dropped_records;
	size_t not_as_declared;
	size_t no_longer_failing; /* of those: declared failures that passed */
	struct fixup_check fixup; /* FIXUP_TABLE against the decode */
	size_t crashes_written, crash_write_errors;
	char crash_error[300]; /* the first write error */
	int only_tried;	       /* sweep_options.only was run: */
	struct verdict only_verdict;
	char error[512]; /* why the stub could not be swept */
	/* Stopped (sweep_options.stop or deadline) before the end: position
	 * is the ordinal, level by level, of the last schedule done (the
	 * ordinal of an injection among those its trace enumerates). */
	int stopped;
	unsigned position[SCHEDULE_MAX_DEPTH];
	int position_len;
	struct trace_cache *cache; /* sweep_options.cache_traces */
	/* When the first finding was judged (a failure inside the stub's
	 * assumptions or in a KNOWN_HOLE, as the fuzzer counts them):
	 * seconds since its sweep_run began, and which schedule it was, in
	 * the order tried (counting from 1). 0: none yet. */
	double run_started, first_failure_seconds;
	size_t first_failure_schedule;
	size_t first_level_total; /* first injections the golden run offers */
};

/* Returns 0 when the sweep ran (whatever the verdicts), -1 when the stub
 * could not be swept: its image is bad or its golden run fails (error says
 * which), or the back end failed under the harness (harness_error set). */
int sweep_stub(struct vm *vm, const char *name, const char *path,
	       const struct sweep_options *opt, struct stub_sweep *out,
	       int *harness_error);
void stub_sweep_free(struct stub_sweep *s);

/* sweep_stub in two steps, for a caller that runs many single schedules
 * on one stub (the fuzzer, replay of its inputs): load the stub and take
 * its golden run once; then sweep (or, with sweep_options.pick, follow one
 * schedule) as often as wanted. Counts and records add up across runs. */
int sweep_open(struct vm *vm, const char *name, const char *path,
	       const struct sweep_options *opt, struct stub_sweep *s);
int sweep_run(struct vm *vm, struct stub_sweep *s,
	      const struct sweep_options *opt, int *harness_error);

/* Does a verdict meet a declaration (0 for pass, or IST_EXPECT_*)? */
int verdict_as_declared(enum verdict_kind kind, uint64_t declared);
/* "pass", "fail", or the exact verdict's name. */
const char *declaration_name(uint64_t declared);

void depth_counts_add(struct depth_counts *a, const struct depth_counts *b);
/* Totals over all depths. */
struct depth_counts sweep_totals(const struct stub_sweep *s);

#endif
