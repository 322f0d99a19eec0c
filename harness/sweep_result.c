#include <stdlib.h>
#include <string.h>

#include "crashfile.h"
#include "report.h"
#include "sweep_result.h"
#include "xalloc.h"

static void *grow_failures(struct stub_result *r, size_t more)
{
	struct sweep_failure *f =
		realloc(r->failures, (r->nfailures + more + 1) * sizeof(*f));

	if (f)
		r->failures = f;
	return f;
}

static void failure_from_record(struct sweep_failure *f,
				const struct stub_sweep *s,
				const struct sweep_record *r,
				const char *crash_dir)
{
	const struct schedule_step *last = &r->sched.step[r->sched.depth - 1];
	size_t len = 0;
	FILE *m;

	memset(f, 0, sizeof(*f));
	schedule_format(&s->img, &r->sched, f->schedule, sizeof(f->schedule));
	f->depth = r->sched.depth;
	f->kind = last->inj.kind;
	snprintf(f->window, sizeof(f->window), "%s", r->window);
	snprintf(f->verdict, sizeof(f->verdict), "%s",
		 verdict_name(r->verdict.kind));
	snprintf(f->declared, sizeof(f->declared), "%s",
		 declaration_name(r->declared));
	f->as_declared = r->as_declared;
	f->outside = r->assumption != NULL;
	if (r->assumption)
		snprintf(f->assumption, sizeof(f->assumption), "%s",
			 r->assumption->text);
	if (r->verdict.kind != VERDICT_HARNESS_ERROR &&
	    r->verdict.kind != VERDICT_PASS) {
		crash_signature(s->name, &s->img, &r->sched, &r->verdict,
				f->signature);
		/* The sweep writes one per signature, for failures inside
		 * the assumptions. */
		if (crash_dir && !r->assumption)
			snprintf(f->crash, sizeof(f->crash),
				 "%s/%s-%s-%s.crash", crash_dir, s->name,
				 f->verdict, f->signature);
	}
	m = open_memstream(&f->details, &len);
	if (m) {
		report_record(m, s, r, 1);
		fclose(m);
	}
}

int stub_result_from_sweep(struct stub_result *r, const struct stub_sweep *s,
			   const char *crash_dir)
{
	size_t len;
	FILE *m;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", s->name);
	r->swept = s->loaded && !s->golden_failed;
	r->golden_failed = s->golden_failed;
	snprintf(r->error, sizeof(r->error), "%s", s->error);
	r->depth = s->depth;
	memcpy(r->counts, s->counts, sizeof(r->counts));
	r->no_longer_failing = s->no_longer_failing;
	/* A harness error is never as declared, and never the stub's. */
	r->unexpected = s->not_as_declared - s->no_longer_failing -
			sweep_totals(s).harness_errors;
	r->crashes_written = s->crashes_written;
	r->dropped = s->dropped_records;
	m = open_memstream(&r->about, &len);
	if (m) {
		report_stub_about(m, s);
		fclose(m);
	}
	if (!s->nrecords)
		return 0;
	if (!grow_failures(r, s->nrecords))
		return -1;
	for (size_t i = 0; i < s->nrecords; i++)
		failure_from_record(&r->failures[r->nfailures++], s,
				    &s->records[i], crash_dir);
	return 0;
}

int stub_result_add(struct stub_result *r, const struct stub_result *more)
{
	if (more->nfailures && !grow_failures(r, more->nfailures))
		return -1;
	for (size_t i = 0; i < more->nfailures; i++) {
		struct sweep_failure *f = &r->failures[r->nfailures++];

		*f = more->failures[i];
		f->details = strdup(more->failures[i].details
					    ? more->failures[i].details
					    : "");
	}
	if (!r->name[0]) {
		snprintf(r->name, sizeof(r->name), "%s", more->name);
		r->swept = 1;
	}
	if (!r->about && more->about)
		r->about = xstrdup(more->about);
	for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
		depth_counts_add(&r->counts[d], &more->counts[d]);
	if (more->depth > r->depth)
		r->depth = more->depth;
	r->unexpected += more->unexpected;
	r->no_longer_failing += more->no_longer_failing;
	r->crashes_written += more->crashes_written;
	r->dropped += more->dropped;
	if (!more->swept && r->swept) {
		r->swept = 0;
		r->golden_failed = more->golden_failed;
		snprintf(r->error, sizeof(r->error), "%s", more->error);
	}
	return 0;
}

void stub_result_free(struct stub_result *r)
{
	for (size_t i = 0; i < r->nfailures; i++)
		free(r->failures[i].details);
	free(r->failures);
	free(r->about);
	memset(r, 0, sizeof(*r));
}
