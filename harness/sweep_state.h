/* A sweep's state, for --resume and for merging shards: what decides the
 * schedules (options that must match to go on), per stub how far it got
 * (done, stopped after a position, or not started) with its results so
 * far, and the coverage map so far. A versioned text file (docs/ci.md),
 * written atomically.
 */
#ifndef IST_SWEEP_STATE_H
#define IST_SWEEP_STATE_H

#include "coverage.h"
#include "sweep_result.h"

#define SWEEP_STATE_VERSION 1

enum stub_progress { STUB_PENDING, STUB_STOPPED, STUB_DONE };

struct state_stub {
	struct stub_result result;
	enum stub_progress progress;
	unsigned position[SCHEDULE_MAX_DEPTH]; /* STUB_STOPPED */
	int position_len;
};

struct sweep_state {
	/* Everything that decides which schedules there are, in one line:
	 * a state is resumed only under the same. */
	char options[1024];
	char backend[16];
	char shard[32]; /* "K/N", or "" */
	double seconds; /* spent sweeping, over all runs */
	struct state_stub *stubs;
	size_t n;
	struct coverage coverage;
};

void sweep_state_init(struct sweep_state *st);
void sweep_state_free(struct sweep_state *st);
/* The stub's entry, added (pending) if missing. */
struct state_stub *sweep_state_stub(struct sweep_state *st, const char *name);
/* Every stub done? */
int sweep_state_complete(const struct sweep_state *st);

int sweep_state_write(const char *path, const struct sweep_state *st, char *err,
		      size_t errlen);
/* Returns 0, 1 when the file does not exist (st left empty), or -1 with
 * err: "FILE:LINE: what is wrong". */
int sweep_state_read(const char *path, struct sweep_state *st, char *err,
		     size_t errlen);

#endif
