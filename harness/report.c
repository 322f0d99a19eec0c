#include <inttypes.h>
#include <string.h>

#include "report.h"

void report_header(FILE *f, const char *backend,
		   const struct sweep_options *opt)
{
	fprintf(f, "ist-torture sweep\n");
	fprintf(f, "  back end: %s\n", backend);
	fprintf(f, "  workload seed: 0x%" PRIx64 "   events:", opt->seed);
	for (int k = 0; k < EVENT_KIND_COUNT; k++)
		if (opt->events & (1u << k))
			fprintf(f, " %s", injector_for(k)->name);
	fprintf(f, "   depth: 1\n\n");
}

static const char *declared_name(uint64_t declared)
{
	switch (declared) {
	case 0:
		return "pass";
	case IST_EXPECT_FAIL:
		return "fail";
	case IST_EXPECT_SHUTDOWN:
		return "shutdown";
	case IST_EXPECT_HANG:
		return "hang";
	}
	return "?";
}

void report_failure(FILE *f, const struct stub_sweep *s,
		    const struct trial_record *r)
{
	const struct boundary *b = &s->golden.b[r->boundary];
	const struct verdict *v = &r->verdict;
	char where[200], at[160];

	boundary_name(&s->img, b, where, sizeof(where));
	fprintf(f, "  %s %-32s %-36s %s: %s%s\n",
		r->as_declared ? "FAIL" : "FAIL!", where, b->insn.text,
		injector_for(r->event)->name, verdict_name(v->kind),
		r->as_declared ? "  (declared)"
			       : "  (NOT declared by the stub)");
	fprintf(f, "        %s", v->summary);
	if (v->fault_rip)
		fprintf(f, " at %s",
			image_format_addr(&s->img, v->fault_rip, at,
					  sizeof(at)));
	fprintf(f, "\n");
	if (v->ndiffs) {
		fprintf(f, "        %-28s %-20s %-20s\n", "field", "expected",
			"observed");
		for (int i = 0; i < v->ndiffs; i++)
			fprintf(f,
				"        %-28s 0x%016" PRIx64 "   0x%016" PRIx64
				"\n",
				v->diffs[i].field, v->diffs[i].expected,
				v->diffs[i].observed);
		if (v->dropped_diffs)
			fprintf(f, "        ... and %d more fields\n",
				v->dropped_diffs);
	}
}

void report_stub(FILE *f, const struct stub_sweep *s)
{
	fprintf(f, "stub %s", s->name);
	if (s->loaded && s->lay.info[0])
		fprintf(f, ": %s", s->lay.info);
	fprintf(f, "\n");
	if (!s->loaded) {
		fprintf(f, "  NOT SWEPT: %s\n\n", s->error);
		return;
	}
	fprintf(f,
		"  %zu boundaries in entry text, %zu trials: %zu passed, %zu "
		"failed; %s\n",
		s->golden.n, s->ntrials, s->passed, s->failed,
		s->not_as_declared ? "NOT as the stub declares"
				   : "all as the stub declares");
	for (size_t i = 0; i < s->ntrials; i++) {
		const struct trial_record *r = &s->trials[i];
		if (r->verdict.kind != VERDICT_PASS)
			report_failure(f, s, r);
	}
	for (size_t i = 0; i < s->ntrials; i++) {
		const struct trial_record *r = &s->trials[i];
		const struct boundary *b = &s->golden.b[r->boundary];
		char where[200];
		if (r->verdict.kind != VERDICT_PASS || r->as_declared)
			continue;
		boundary_name(&s->img, b, where, sizeof(where));
		fprintf(f,
			"  PASS! %-32s %-36s %s: passes, but the stub declares "
			"%s\n",
			where, b->insn.text, injector_for(r->event)->name,
			declared_name(r->declared));
	}
	fprintf(f, "\n");
}
