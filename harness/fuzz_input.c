#include <string.h>

#include "fuzz_input.h"

int fuzz_input_parse(const uint8_t *data, size_t size, int max_depth,
		     struct fuzz_input *in)
{
	if (size < 1 || data[0] < 1 || data[0] > max_depth ||
	    data[0] > SCHEDULE_MAX_DEPTH ||
	    size != 1 + (size_t)data[0] * FUZZ_STEP_BYTES)
		return -1;
	memset(in, 0, sizeof(*in));
	in->depth = data[0];
	for (int l = 0; l < in->depth; l++) {
		const uint8_t *b = data + 1 + l * FUZZ_STEP_BYTES;

		in->step[l].kind = b[0];
		in->step[l].at = (uint16_t)(b[1] | b[2] << 8);
		in->step[l].flags = b[3];
	}
	return 0;
}

size_t fuzz_input_bytes(const struct fuzz_input *in, uint8_t *out)
{
	out[0] = (uint8_t)in->depth;
	for (int l = 0; l < in->depth; l++) {
		uint8_t *b = out + 1 + l * FUZZ_STEP_BYTES;

		b[0] = in->step[l].kind;
		b[1] = (uint8_t)in->step[l].at;
		b[2] = (uint8_t)(in->step[l].at >> 8);
		b[3] = in->step[l].flags;
	}
	return 1 + (size_t)in->depth * FUZZ_STEP_BYTES;
}

int fuzz_input_pick(const struct fuzz_input *in, int level,
		    const struct trace *t, unsigned events,
		    struct sweep_pick *out)
{
	int n = __builtin_popcount(events), want;

	if (level >= in->depth || !n || !t->n)
		return -1;
	/* The kind byte counts among the kinds swept, so that each of its
	 * values is one of them. */
	want = in->step[level].kind % n;
	for (int k = 0; k < EVENT_KIND_COUNT; k++)
		if ((events >> k & 1) && want-- == 0)
			out->kind = (enum event_kind)k;
	out->i = in->step[level].at % t->n;
	out->data = out->kind == EVENT_DB &&
		    (in->step[level].flags & FUZZ_FLAG_DATA);
	return 0;
}

void fuzz_input_mutate(struct fuzz_input *in, int max_depth,
		       unsigned (*next_random)(void *ctx), void *ctx)
{
	int l = (int)(next_random(ctx) % (unsigned)in->depth);
	struct fuzz_step *st = &in->step[l];

	switch (next_random(ctx) % 5) {
	case 0: /* another kind */
		st->kind = (uint8_t)(st->kind + 1 + next_random(ctx) % 3);
		break;
	case 1: { /* a neighbouring boundary: same window, or the next */
		int delta = (int)(next_random(ctx) % 17) - 8;

		st->at = (uint16_t)(st->at + (delta ? delta : 1));
		break;
	}
	case 2: /* one level deeper */
		if (in->depth < max_depth) {
			struct fuzz_step *n = &in->step[in->depth++];

			n->kind = (uint8_t)next_random(ctx);
			/* Early in the handler, where races live, more
			 * often than not. */
			n->at = (uint16_t)(next_random(ctx) % 2
						   ? next_random(ctx) % 16
						   : next_random(ctx));
			n->flags = (uint8_t)(next_random(ctx) & FUZZ_FLAG_DATA);
			break;
		}
		/* Already as deep as allowed: one level less instead. */
		__attribute__((fallthrough));
	case 3: /* one level less */
		if (in->depth > 1) {
			in->depth--;
			break;
		}
		__attribute__((fallthrough));
	default: /* the other #DB cause */
		st->flags ^= FUZZ_FLAG_DATA;
		break;
	}
}
