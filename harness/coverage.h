/* Coverage maps: which boundaries of which stub have been tried with which
 * event kind at which depth, in which window, how often, and the worst
 * outcome seen. Every trial adds to one, whichever front end ran it (sweep,
 * replay, fuzzer); maps merge, so shards and fuzzing jobs combine.
 *
 * A cell is (stub, boundary address, window label, event kind, depth): the
 * boundary where the schedule's last event is raised, the window it is in
 * there, and how deep in the schedule it is (1 for the first event). A
 * reach is (boundary, window, depth): a boundary some trace of that depth
 * went through, tried or not; with the event kinds swept at each depth it
 * says what is still untried.
 *
 * On disk a map is a versioned line-oriented text file (docs/ci.md),
 * written atomically, with its lines sorted so that equal maps are equal
 * files: merging two shards gives the bytes of the unsharded run's map.
 */
#ifndef IST_COVERAGE_H
#define IST_COVERAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "schedule.h"
#include "window.h"

#define COVERAGE_VERSION 1

/* The outcome of trials, from best to worst: a cell keeps its worst. */
enum cov_outcome {
	COV_UNTRIED,	/* enumerated, never run */
	COV_PASS,	/* passed, as declared */
	COV_SHUTDOWN,	/* the CPU had to shut down: nothing to judge */
	COV_OUTSIDE,	/* failed, outside a declared assumption */
	COV_DECLARED,	/* failed as the stub declares */
	COV_UNDECLARED, /* not as declared: a failure, or a declared one that
			   passed */
	COV_HARNESS,	/* harness error */
	COV_OUTCOME_COUNT
};

struct cov_cell {
	uint64_t addr;
	unsigned window; /* index into cov_stub.windows */
	int kind;	 /* enum event_kind */
	int depth;	 /* 1 .. SCHEDULE_MAX_DEPTH */
	uint64_t tried;	 /* trials run and judged */
	/* Enumerated but not run: the event cannot arise there, it is held
	 * past the trace's end, or the back end cannot raise it there. */
	uint64_t skipped;
	enum cov_outcome worst;
	int worst_verdict; /* enum verdict_kind of the worst trial */
};

struct cov_reach {
	uint64_t addr;
	unsigned window;
	int depth;
};

struct cov_stub {
	char name[64];
	uint64_t image_hash; /* crash_image_hash: a map of another build of
				the stub does not merge */
	/* Event kinds swept at each depth (bit 1 << enum event_kind). */
	unsigned events[SCHEDULE_MAX_DEPTH];
	char (*windows)[WINDOW_LABEL_MAX];
	size_t nwindows;
	struct cov_cell *cells; /* sorted: addr, window label, kind, depth */
	size_t ncells, cap_cells;
	struct cov_reach *reach; /* sorted: addr, window label, depth */
	size_t nreach, cap_reach;
};

struct coverage {
	struct cov_stub *stubs; /* sorted by name */
	size_t n;
};

/* The outcome names on disk and in reports: "untried", "pass",
 * "shutdown", "outside", "declared", "undeclared", "harness". */
const char *cov_outcome_name(enum cov_outcome o);

void coverage_init(struct coverage *c);
void coverage_free(struct coverage *c);

/* The stub's map, made empty if missing. NULL (err says why) when the map
 * has the stub from another image. */
struct cov_stub *coverage_stub(struct coverage *c, const char *name,
			       uint64_t image_hash, char *err, size_t errlen);
/* The index of a window label in the stub's table, added if missing. */
unsigned cov_window(struct cov_stub *s, const char *label);

void cov_note_events(struct cov_stub *s, int depth, unsigned events);
void cov_reach(struct cov_stub *s, uint64_t addr, const char *window,
	       int depth);
/* A trial run and judged (outcome != COV_UNTRIED), or one enumerated and
 * skipped (outcome == COV_UNTRIED). */
void cov_trial(struct cov_stub *s, uint64_t addr, const char *window, int kind,
	       int depth, enum cov_outcome outcome, int verdict_kind);

/* The cell, or NULL. */
const struct cov_cell *cov_find(const struct cov_stub *s, uint64_t addr,
				const char *window, int kind, int depth);

/* Adds src into dst. -1 with err when a stub is in both from different
 * images. */
int coverage_merge(struct coverage *dst, const struct coverage *src, char *err,
		   size_t errlen);

/* Writes the map atomically (temporary file, fsync, rename). */
int coverage_write(const char *path, const struct coverage *c, char *err,
		   size_t errlen);
/* coverage_write, or with merge onto what path holds (if anything): how
 * each front end saves the map of its run. */
int coverage_save(const char *path, int merge, const struct coverage *c,
		  char *err, size_t errlen);
/* The same text to a stream. */
void coverage_print(FILE *f, const struct coverage *c);
/* Reads a map and merges it into c. -1 with err: "FILE:LINE: what is
 * wrong" (or why the file cannot be read). */
int coverage_read(const char *path, struct coverage *c, char *err,
		  size_t errlen);
/* The same from the rest of a stream (a sweep state embeds a map). */
int coverage_read_stream(FILE *f, const char *path, struct coverage *c,
			 char *err, size_t errlen);

#endif
