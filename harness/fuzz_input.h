/* A schedule as the fuzzer sees it: a few bytes that every value of which
 * is a schedule. The bytes do not name boundaries; they choose, level by
 * level, one boundary of the trace that level has (the golden run, then the
 * trace after the event before) and one event kind among those swept
 * there, so an input means the same on every build that has the same
 * traces, and no input is out of range.
 *
 *   byte 0          depth, 1 .. SCHEDULE_MAX_DEPTH
 *   then per level  kind   (modulo the kinds swept at that level)
 *                   at     (2 bytes, little-endian, modulo the trace's
 *                           boundaries)
 *                   flags  (bit 0: a #DB is the data breakpoint of the MOV SS
 *                           whose trap lands there, where there is one)
 *
 * Anything else (another size, depth 0 or too deep) is no input: the fuzz
 * target rejects it, so it never enters a corpus.
 */
#ifndef IST_FUZZ_INPUT_H
#define IST_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "sweep.h"

#define FUZZ_STEP_BYTES	 4
#define FUZZ_INPUT_BYTES (1 + SCHEDULE_MAX_DEPTH * FUZZ_STEP_BYTES)
#define FUZZ_FLAG_DATA	 1

struct fuzz_step {
	uint8_t kind;
	uint16_t at;
	uint8_t flags;
};

struct fuzz_input {
	int depth;
	struct fuzz_step step[SCHEDULE_MAX_DEPTH];
};

/* 0, or -1 when the bytes are no input (of at most max_depth levels). */
int fuzz_input_parse(const uint8_t *data, size_t size, int max_depth,
		     struct fuzz_input *in);
/* The bytes of an input; returns their count. */
size_t fuzz_input_bytes(const struct fuzz_input *in, uint8_t *out);

/* Level `level` of the input, chosen in trace t among `events` (a mask of
 * event kinds): sweep_options.pick's answer. -1 past the input's depth or
 * when no kind is swept there. */
int fuzz_input_pick(const struct fuzz_input *in, int level,
		    const struct trace *t, unsigned events,
		    struct sweep_pick *out);

/* A mutation at the level of the schedule, one of: another event kind at
 * one level; one level's boundary moved a few boundaries on or back (to a
 * neighbour in its window, or into the next); a level added below the
 * last, or the last dropped; next_random() is the caller's random source (it
 * returns 0 .. RAND_MAX-like values). */
void fuzz_input_mutate(struct fuzz_input *in, int max_depth,
		       unsigned (*next_random)(void *ctx), void *ctx);

#endif
