/* The fuzzer's input format (harness/fuzz_input.c): every byte string of
 * an input's size is a schedule and nothing else is; the bytes round-trip;
 * a pick is always a boundary of the trace and a kind that is swept; and
 * every mutation leaves an input. */
#include <stdlib.h>

#include "check.h"
#include "fuzz_input.h"

static unsigned next(void *ctx)
{
	return (unsigned)rand_r(ctx);
}

static void parse_rules(void)
{
	uint8_t b[FUZZ_INPUT_BYTES + 1] = {0};
	struct fuzz_input in;

	for (int d = 0; d <= SCHEDULE_MAX_DEPTH + 1; d++)
		for (size_t n = 0; n <= sizeof(b); n++) {
			int right = d >= 1 && d <= 3 &&
				    n == 1 + (size_t)d * FUZZ_STEP_BYTES;

			b[0] = (uint8_t)d;
			CHECK((fuzz_input_parse(b, n, 3, &in) == 0) == right);
		}
}

static void round_trip_and_pick(void)
{
	unsigned seed = 7;
	struct trace t = {.n = 37};

	for (int round = 0; round < 20000; round++) {
		uint8_t b[FUZZ_INPUT_BYTES], again[FUZZ_INPUT_BYTES];
		struct fuzz_input in, out;
		unsigned events = 1 + next(&seed) % 15;
		size_t n;

		b[0] = (uint8_t)(1 + next(&seed) % 3);
		for (size_t i = 1; i < sizeof(b); i++)
			b[i] = (uint8_t)next(&seed);
		n = 1 + (size_t)b[0] * FUZZ_STEP_BYTES;
		CHECK(fuzz_input_parse(b, n, 3, &in) == 0);
		CHECK_EQ_U64(fuzz_input_bytes(&in, again), n);
		CHECK(memcmp(b, again, n) == 0);
		for (int l = 0; l < in.depth; l++) {
			struct sweep_pick pk;

			CHECK(fuzz_input_pick(&in, l, &t, events, &pk) == 0);
			CHECK(pk.i < t.n);
			CHECK(events >> pk.kind & 1);
		}
		CHECK(fuzz_input_pick(&in, in.depth, &t, events,
				      &(struct sweep_pick){0}) == -1);
		fuzz_input_mutate(&in, 3, next, &seed);
		n = fuzz_input_bytes(&in, again);
		CHECK(fuzz_input_parse(again, n, 3, &out) == 0);
	}
}

int main(void)
{
	parse_rules();
	round_trip_and_pick();
	return check_summary("test_fuzz_input");
}
