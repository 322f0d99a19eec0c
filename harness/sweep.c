#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"
#include "trial.h"

int verdict_as_declared(enum verdict_kind kind, uint64_t declared)
{
	switch (declared) {
	case 0:
		return kind == VERDICT_PASS;
	case IST_EXPECT_FAIL:
		return kind != VERDICT_PASS && kind != VERDICT_HARNESS_ERROR;
	case IST_EXPECT_SHUTDOWN:
		return kind == VERDICT_SHUTDOWN;
	case IST_EXPECT_HANG:
		return kind == VERDICT_HANG;
	}
	return 0;
}

static void run_trials(struct vm *vm, const struct sweep_options *opt,
		       struct stub_sweep *s, int *harness_error)
{
	struct oracle_context ctx;
	struct observation obs;

	oracle_context_init(&ctx, &s->lay, s->lay.boot_cr3);
	if (observation_init(&obs, &s->lay)) {
		*harness_error = 1;
		return;
	}
	for (size_t i = 0; i < s->golden.n; i++) {
		const struct boundary *b = &s->golden.b[i];
		for (int k = 0; k < EVENT_KIND_COUNT; k++) {
			const struct injector *inj = injector_for(k);
			struct injection injection;
			struct trial_record *r;
			struct oracle_case c = {
				.golden = &s->golden.final,
				.trial = &obs,
				.delivered = &b->snap.state,
				.vector = inj->vector,
				.event = inj->name,
				.ist_index = inj->ist_index,
			};

			/* Only events the stub has entries for. */
			if (!(opt->events & s->lay.handles & (1u << k)))
				continue;
			injection_default(&injection, k);
			r = &s->trials[s->ntrials++];
			r->boundary = i;
			r->event = k;
			if (trial_run(vm, &s->lay, b, &injection,
				      opt->timeout_ms, &obs)) {
				memset(&r->verdict, 0, sizeof(r->verdict));
				r->verdict.kind = VERDICT_HARNESS_ERROR;
				snprintf(r->verdict.summary,
					 sizeof(r->verdict.summary),
					 "KVM refused to restore the snapshot "
					 "or "
					 "to run the trial");
				*harness_error = 1;
			} else {
				oracle_judge(&ctx, &c, &r->verdict);
			}
			r->declared = guest_expectation(&s->lay, b->addr);
			r->as_declared = verdict_as_declared(r->verdict.kind,
							     r->declared);
			if (r->verdict.kind == VERDICT_PASS)
				s->passed++;
			else
				s->failed++;
			s->not_as_declared += !r->as_declared;
		}
	}
	observation_free(&obs);
}

int sweep_stub(struct vm *vm, const char *name, const char *path,
	       const struct sweep_options *opt, struct stub_sweep *s,
	       int *harness_error)
{
	char err[400];

	memset(s, 0, sizeof(*s));
	*harness_error = 0;
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (image_load(path, &s->img, err, sizeof(err)) ||
	    guest_layout_read(&s->img, &s->lay, err, sizeof(err))) {
		snprintf(s->error, sizeof(s->error), "%s", err);
		return -1;
	}
	if (golden_run(vm, &s->img, &s->lay, opt->seed, &s->golden, err,
		       sizeof(err))) {
		snprintf(s->error, sizeof(s->error), "%s", err);
		image_free(&s->img);
		return -1;
	}
	s->loaded = 1;
	s->trials =
		calloc(s->golden.n * EVENT_KIND_COUNT + 1, sizeof(*s->trials));
	if (!s->trials) {
		*harness_error = 1;
		return -1;
	}
	run_trials(vm, opt, s, harness_error);
	return *harness_error ? -1 : 0;
}

void stub_sweep_free(struct stub_sweep *s)
{
	free(s->trials);
	if (s->loaded) {
		golden_free(&s->golden);
		image_free(&s->img);
	}
	memset(s, 0, sizeof(*s));
}
