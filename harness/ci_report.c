/* JUnit XML and JSON reports of a sweep (docs/ci.md has both schemas).
 *
 * Both group a stub's coverage cells and failures by (window label, event
 * kind, depth): a JUnit testcase is one such group, so a dashboard shows
 * which window broke under which event, not one line per boundary (tens of
 * thousands at depth 3). Output is a function of the input alone (no time
 * stamp, no host name, sorted groups), so two reports of the same results
 * are the same bytes.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../injectors/injector.h"
#include "atomic_file.h"
#include "ci_report.h"
#include "oracle.h"
#include "text_escape.h"

/* One (window, kind, depth) of a stub: the cells of the coverage map
 * that fall in it, and the failures raised there (fail[first..+nfail]). */
struct ci_case {
	const char *window;
	int kind, depth;
	uint64_t tried, skipped;
	enum cov_outcome worst;
	int in_map; /* the coverage map has a cell here */
	size_t first, nfail;
};

struct ci_group {
	struct ci_case *cases;
	size_t ncases;
	const struct sweep_failure **fail; /* sorted as the cases */
};

static int key_cmp(const char *wa, int ka, int da, const char *wb, int kb,
		   int db)
{
	int c = strcmp(wa, wb);

	if (c)
		return c;
	if (ka != kb)
		return ka < kb ? -1 : 1;
	if (da != db)
		return da < db ? -1 : 1;
	return 0;
}

static int case_cmp(const void *a, const void *b)
{
	const struct ci_case *x = a, *y = b;

	return key_cmp(x->window, x->kind, x->depth, y->window, y->kind,
		       y->depth);
}

/* Ties keep the sweep's order, so the failures of a case read as the
 * sweep met them (qsort is not stable). */
static int fail_cmp(const void *a, const void *b)
{
	const struct sweep_failure *x = *(const struct sweep_failure *const *)a;
	const struct sweep_failure *y = *(const struct sweep_failure *const *)b;
	int c = key_cmp(x->window, x->kind, x->depth, y->window, y->kind,
			y->depth);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

static const struct cov_stub *cov_stub_named(const struct coverage *cov,
					     const char *name)
{
	if (!cov)
		return NULL;
	for (size_t i = 0; i < cov->n; i++)
		if (!strcmp(cov->stubs[i].name, name))
			return &cov->stubs[i];
	return NULL;
}

static void group_free(struct ci_group *g)
{
	free(g->cases);
	free(g->fail);
	memset(g, 0, sizeof(*g));
}

static int group_stub(const struct stub_result *r, const struct coverage *cov,
		      struct ci_group *g)
{
	const struct cov_stub *s = cov_stub_named(cov, r->name);
	size_t ncells = s ? s->ncells : 0, n = 0, f = 0;

	memset(g, 0, sizeof(*g));
	g->cases = calloc(ncells + r->nfailures + 1, sizeof(*g->cases));
	g->fail = calloc(r->nfailures + 1, sizeof(*g->fail));
	if (!g->cases || !g->fail) {
		group_free(g);
		return -1;
	}
	for (size_t i = 0; i < ncells; i++) {
		const struct cov_cell *c = &s->cells[i];
		struct ci_case *k = &g->cases[n++];

		k->window =
			c->window < s->nwindows ? s->windows[c->window] : "?";
		k->kind = c->kind;
		k->depth = c->depth;
		k->tried = c->tried;
		k->skipped = c->skipped;
		k->worst = c->worst;
		k->in_map = 1;
	}
	/* A failure outside the map (no map given, or another run's) still
	 * gets its case: a report never loses a failure. */
	for (size_t i = 0; i < r->nfailures; i++) {
		const struct sweep_failure *sf = &r->failures[i];
		struct ci_case *k = &g->cases[n++];

		k->window = sf->window;
		k->kind = sf->kind;
		k->depth = sf->depth;
		g->fail[i] = sf;
	}
	qsort(g->cases, n, sizeof(*g->cases), case_cmp);
	qsort(g->fail, r->nfailures, sizeof(*g->fail), fail_cmp);
	g->ncases = 0;
	for (size_t i = 0; i < n; i++) {
		struct ci_case *k = &g->cases[i], *last;

		if (g->ncases && !case_cmp(&g->cases[g->ncases - 1], k)) {
			last = &g->cases[g->ncases - 1];
			last->tried += k->tried;
			last->skipped += k->skipped;
			if (k->in_map &&
			    (!last->in_map || k->worst > last->worst))
				last->worst = k->worst;
			last->in_map |= k->in_map;
			continue;
		}
		g->cases[g->ncases++] = *k;
	}
	for (size_t i = 0; i < g->ncases; i++) {
		struct ci_case *k = &g->cases[i];

		k->first = f;
		while (f < r->nfailures &&
		       !key_cmp(g->fail[f]->window, g->fail[f]->kind,
				g->fail[f]->depth, k->window, k->kind,
				k->depth))
			f++;
		k->nfail = f - k->first;
	}
	return 0;
}

/* Seconds with milliseconds, printed by hand: %f follows LC_NUMERIC, and
 * a decimal comma would break both formats. */
static void put_seconds(FILE *f, double s)
{
	unsigned long long ms;

	if (!(s > 0) || s > 1e12) /* NaN, negative, or not a time */
		s = 0;
	ms = (unsigned long long)(s * 1000 + 0.5);
	fprintf(f, "%llu.%03llu", ms / 1000, ms % 1000);
}

/* "" is "none" in sweep_failure; JSON says so with null. */
static void json_opt(FILE *f, const char *s)
{
	json_string(f, s && *s ? s : NULL);
}

static int is_harness_error(const struct sweep_failure *sf)
{
	return !strcmp(sf->verdict, verdict_name(VERDICT_HARNESS_ERROR));
}

/* Not as declared, within the stub's assumptions: what fails CI. */
static int is_unexpected(const struct sweep_failure *sf)
{
	return !is_harness_error(sf) && !sf->as_declared && !sf->outside;
}

/* The depths to report: those swept, and any deeper one with counts (a
 * result merged from parts that disagree on depth loses nothing). */
static int depths(const struct stub_result *r)
{
	static const struct depth_counts zero;
	int depth = r->depth < 0		    ? 0
		    : r->depth < SCHEDULE_MAX_DEPTH ? r->depth
						    : SCHEDULE_MAX_DEPTH;

	for (int d = depth; d < SCHEDULE_MAX_DEPTH; d++)
		if (memcmp(&r->counts[d], &zero, sizeof(zero)))
			depth = d + 1;
	return depth;
}

static struct depth_counts totals(const struct stub_result *r)
{
	struct depth_counts t = {0};
	int depth = depths(r);

	for (int d = 0; d < depth; d++) {
		const struct depth_counts *c = &r->counts[d];

		t.schedules += c->schedules;
		t.passed += c->passed;
		t.failed += c->failed;
		t.arch_shutdown += c->arch_shutdown;
		t.outside += c->outside;
		t.impossible += c->impossible;
		t.held_out += c->held_out;
		t.unraisable += c->unraisable;
		t.harness_errors += c->harness_errors;
	}
	return t;
}

/* --- JUnit ------------------------------------------------------------ */

/* What a suite holds, known before its element is written. */
struct junit_tally {
	size_t tests, failures, errors;
	size_t unlisted; /* not as declared, among the failures dropped */
	double time;
};

static int junit_is_case(const struct ci_case *k)
{
	return k->tried || k->nfail;
}

static int is_other(const struct sweep_failure *sf)
{
	return !is_harness_error(sf) && !is_unexpected(sf);
}

/* The elements a testcase holds, decided once: the suite's counts and
 * the testcase it writes must agree. */
struct junit_parts {
	int failed, errored, other;
};

static struct junit_parts junit_parts(const struct sweep_failure *const *fl,
				      size_t n)
{
	struct junit_parts p = {0, 0, 0};

	for (size_t j = 0; j < n; j++) {
		p.failed |= is_unexpected(fl[j]);
		p.errored |= is_harness_error(fl[j]);
		p.other |= is_other(fl[j]);
	}
	return p;
}

/* Failures kept are at most SWEEP_MAX_RECORDS: when the ones dropped
 * hide a schedule not as declared, the suite must still fail. */
static size_t unexpected_unlisted(const struct stub_result *r)
{
	size_t listed = 0, all = r->unexpected + r->no_longer_failing;

	for (size_t i = 0; i < r->nfailures; i++)
		listed += is_unexpected(&r->failures[i]);
	return r->dropped && all > listed ? all - listed : 0;
}

static void junit_tally(const struct stub_result *r, const struct ci_group *g,
			double per_trial, struct junit_tally *t)
{
	memset(t, 0, sizeof(*t));
	if (!r->swept) {
		t->tests = 1;
		t->failures = r->golden_failed ? 1 : 0;
		t->errors = r->golden_failed ? 0 : 1;
		return;
	}
	for (size_t i = 0; i < g->ncases; i++) {
		const struct ci_case *k = &g->cases[i];
		struct junit_parts p;

		if (!junit_is_case(k))
			continue;
		p = junit_parts(g->fail + k->first, k->nfail);
		t->tests++;
		t->failures += p.failed;
		t->errors += p.errored;
		t->time += per_trial * (double)k->tried;
	}
	t->unlisted = unexpected_unlisted(r);
	if (t->unlisted) {
		t->tests++;
		t->failures++;
	}
}

static void junit_failure_line(char *buf, size_t len,
			       const struct sweep_failure *sf)
{
	if (!strcmp(sf->verdict, verdict_name(VERDICT_PASS)))
		snprintf(buf, len, "%s: passed, but the stub declares %s",
			 sf->schedule, sf->declared);
	else if (is_harness_error(sf))
		snprintf(buf, len, "%s: harness error (never the stub's fault)",
			 sf->schedule);
	else if (sf->outside)
		snprintf(buf, len, "%s: %s, outside the stub's assumption%s%s",
			 sf->schedule, sf->verdict,
			 sf->assumption[0] ? ": " : "", sf->assumption);
	else if (sf->as_declared)
		snprintf(buf, len, "%s: %s, as the stub declares (%s)",
			 sf->schedule, sf->verdict, sf->declared);
	else
		snprintf(buf, len,
			 "%s: %s, not declared by the stub (it declares %s)",
			 sf->schedule, sf->verdict, sf->declared);
}

/* The message and type attributes: the first such failure, and how many
 * there are (a reporter shows the message alone, on one line). */
static void junit_message(FILE *f, const struct sweep_failure *const *fail,
			  size_t n, int (*which)(const struct sweep_failure *),
			  const char *what)
{
	const struct sweep_failure *first = NULL;
	char line[1024];
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		if (which(fail[i])) {
			first = first ? first : fail[i];
			count++;
		}
	if (!first)
		return;
	fputs(" message=\"", f);
	if (count > 1)
		fprintf(f, "%zu %s; first: ", count, what);
	junit_failure_line(line, sizeof(line), first);
	xml_attr(f, line);
	fputs("\" type=\"", f);
	xml_attr(f, first->verdict);
	fputs("\"", f);
}

/* Each failure as a block: its details (the schedule, the verdict, the
 * divergence field by field), then its crash file. */
static void junit_blocks(FILE *f, const struct sweep_failure *const *fail,
			 size_t n, int (*which)(const struct sweep_failure *))
{
	const char *sep = "";
	char line[1024];

	for (size_t i = 0; i < n; i++) {
		const struct sweep_failure *sf = fail[i];
		size_t len = sf->details ? strlen(sf->details) : 0;

		if (!which(sf))
			continue;
		fputs(sep, f);
		/* The details name the schedule and verdict themselves. */
		if (len) {
			xml_text(f, sf->details);
			if (sf->details[len - 1] != '\n')
				fputc('\n', f);
		} else {
			junit_failure_line(line, sizeof(line), sf);
			xml_text(f, line);
			fputc('\n', f);
		}
		if (sf->crash[0]) {
			fputs("crash file: ", f);
			xml_text(f, sf->crash);
			fputc('\n', f);
		}
		sep = "\n";
	}
}

static void junit_properties(FILE *f, const struct ci_run *run)
{
	fputs("    <properties>\n", f);
	fputs("      <property name=\"backend\" value=\"", f);
	xml_attr(f, run->backend);
	fprintf(f,
		"\"/>\n      <property name=\"seed\" value=\"0x%" PRIx64
		"\"/>\n      <property name=\"depth\" value=\"%d\"/>\n",
		run->seed, run->depth);
	fputs("      <property name=\"events\" value=\"", f);
	xml_attr(f, run->events);
	fputs("\"/>\n      <property name=\"shard\" value=\"", f);
	xml_attr(f, run->shard ? run->shard : "all");
	fprintf(f,
		"\"/>\n      <property name=\"complete\" value=\"%s\"/>\n"
		"    </properties>\n",
		run->complete ? "true" : "false");
}

static void junit_case_open(FILE *f, const struct stub_result *r,
			    const char *name, double seconds)
{
	fputs("    <testcase name=\"", f);
	xml_attr(f, name);
	fputs("\" classname=\"ist-torture.", f);
	xml_attr(f, r->name);
	fputs("\" time=\"", f);
	put_seconds(f, seconds);
	fputs("\"", f);
}

/* The stub's counts, as the text report has them, for whoever opens the
 * suite's output. */
static void junit_counts(FILE *f, const struct stub_result *r)
{
	int depth = depths(r);

	fputs("    <system-out>", f);
	for (int d = 0; d < depth; d++) {
		const struct depth_counts *c = &r->counts[d];

		fprintf(f,
			"depth %d: %zu schedules: %zu passed, %zu failed, %zu "
			"architectural-shutdown, %zu outside assumptions, %zu "
			"harness errors; not run: %zu impossible, %zu held "
			"out, %zu unraisable\n",
			d + 1, c->schedules, c->passed, c->failed,
			c->arch_shutdown, c->outside, c->harness_errors,
			c->impossible, c->held_out, c->unraisable);
	}
	fprintf(f, "%zu not as declared, %zu declared failures that passed",
		r->unexpected, r->no_longer_failing);
	if (r->dropped)
		fprintf(f, "; %zu failures beyond those kept", r->dropped);
	fputs("\n</system-out>\n", f);
}

static void junit_suite_open(FILE *f, const struct ci_run *run,
			     const struct stub_result *r,
			     const struct junit_tally *t)
{
	fputs("  <testsuite name=\"", f);
	xml_attr(f, r->name);
	fprintf(f,
		"\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
		"skipped=\"0\" time=\"",
		t->tests, t->failures, t->errors);
	put_seconds(f, t->time);
	fputs("\">\n", f);
	junit_properties(f, run);
}

/* An <error> or <failure> that is one message: as the attribute for a
 * reporter's one line, and as the text for whoever opens the case. */
static void junit_note(FILE *f, const char *el, const char *type,
		       const char *msg)
{
	fprintf(f, "      <%s message=\"", el);
	xml_attr(f, msg);
	fprintf(f, "\" type=\"%s\">", type);
	xml_text(f, msg);
	fprintf(f, "</%s>\n", el);
}

/* An <error> or <failure> for the failures of a case that which picks. */
static void junit_outcome(FILE *f, const char *el,
			  const struct sweep_failure *const *fail, size_t n,
			  int (*which)(const struct sweep_failure *),
			  const char *what)
{
	fprintf(f, "      <%s", el);
	junit_message(f, fail, n, which, what);
	fputs(">", f);
	junit_blocks(f, fail, n, which);
	fprintf(f, "</%s>\n", el);
}

static void junit_unswept(FILE *f, const struct ci_run *run,
			  const struct stub_result *r,
			  const struct junit_tally *t)
{
	const char *why =
		r->error[0] ? r->error : "the stub could not be swept";

	junit_suite_open(f, run, r, t);
	junit_case_open(f, r, "sweep", 0);
	fputs(">\n", f);
	if (r->golden_failed)
		junit_note(f, "failure", "golden-failed", why);
	else
		junit_note(f, "error", "not-swept", why);
	fputs("    </testcase>\n  </testsuite>\n", f);
}

static void junit_case(FILE *f, const struct stub_result *r,
		       const struct ci_case *k,
		       const struct sweep_failure *const *fl, double seconds)
{
	char name[WINDOW_LABEL_MAX + 64];
	struct junit_parts p = junit_parts(fl, k->nfail);

	snprintf(name, sizeof(name), "%s / %s / depth %d", k->window,
		 event_kind_name(k->kind), k->depth);
	junit_case_open(f, r, name, seconds);
	if (!k->nfail) {
		fputs("/>\n", f);
		return;
	}
	fputs(">\n", f);
	/* error before failure before system-out: the schema's order */
	if (p.errored)
		junit_outcome(f, "error", fl, k->nfail, is_harness_error,
			      "harness errors");
	if (p.failed)
		junit_outcome(f, "failure", fl, k->nfail, is_unexpected,
			      "schedules not as declared");
	if (p.other) {
		fputs("      <system-out>", f);
		junit_blocks(f, fl, k->nfail, is_other);
		fputs("</system-out>\n", f);
	}
	fputs("    </testcase>\n", f);
}

static void junit_swept(FILE *f, const struct ci_run *run,
			const struct stub_result *r, const struct ci_group *g,
			const struct junit_tally *t, double per_trial)
{
	int any = 0;

	junit_suite_open(f, run, r, t);
	for (size_t i = 0; i < g->ncases; i++) {
		const struct ci_case *k = &g->cases[i];

		if (!junit_is_case(k))
			continue;
		junit_case(f, r, k, g->fail + k->first,
			   per_trial * (double)k->tried);
		any = 1;
	}
	if (t->unlisted) {
		char msg[300];

		snprintf(msg, sizeof(msg),
			 "%zu schedules not as declared are beyond the %zu "
			 "failures kept; sweep this stub alone to see them",
			 t->unlisted, r->nfailures);
		junit_case_open(f, r, "failures not kept", 0);
		fputs(">\n", f);
		junit_note(f, "failure", "not-as-declared", msg);
		fputs("    </testcase>\n", f);
	} else if (!any) {
		/* No trial in the map: still one case, so that the suite
		 * does not read as "no tests found". */
		junit_case_open(f, r, "sweep", 0);
		fputs("/>\n", f);
	}
	junit_counts(f, r);
	fputs("  </testsuite>\n", f);
}

static int group_all(const struct stub_result *r, size_t n,
		     const struct coverage *cov, struct ci_group **out,
		     char *err, size_t errlen)
{
	struct ci_group *g = calloc(n + 1, sizeof(*g));

	for (size_t i = 0; g && i < n; i++)
		if (group_stub(&r[i], cov, &g[i])) {
			while (i--)
				group_free(&g[i]);
			free(g);
			g = NULL;
		}
	if (!g)
		snprintf(err, errlen,
			 "out of memory writing the report: free some memory "
			 "and merge the state again");
	*out = g;
	return g ? 0 : -1;
}

static void groups_free(struct ci_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		group_free(&g[i]);
	free(g);
}

int ci_write_junit(const char *path, const struct ci_run *run,
		   const struct stub_result *r, size_t n,
		   const struct coverage *cov, char *err, size_t errlen)
{
	struct junit_tally *t, all = {0};
	struct atomic_file a;
	struct ci_group *g;
	uint64_t trials = 0;
	double per_trial = 0;
	FILE *f;

	if (group_all(r, n, cov, &g, err, errlen))
		return -1;
	t = calloc(n + 1, sizeof(*t));
	if (!t) {
		groups_free(g, n);
		snprintf(err, errlen, "out of memory writing %s", path);
		return -1;
	}
	/* Testcases have no clock of their own: each gets the run's time
	 * in proportion to its trials. */
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; r[i].swept && k < g[i].ncases; k++)
			trials += g[i].cases[k].tried;
	if (trials)
		per_trial = run->seconds / (double)trials;
	for (size_t i = 0; i < n; i++) {
		junit_tally(&r[i], &g[i], per_trial, &t[i]);
		all.tests += t[i].tests;
		all.failures += t[i].failures;
		all.errors += t[i].errors;
	}

	f = atomic_open(&a, path, err, errlen);
	if (f) {
		fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
		fprintf(f,
			"<testsuites name=\"ist-torture\" tests=\"%zu\" "
			"failures=\"%zu\" errors=\"%zu\" time=\"",
			all.tests, all.failures, all.errors);
		put_seconds(f, run->seconds);
		fputs("\">\n", f);
		for (size_t i = 0; i < n; i++) {
			if (r[i].swept)
				junit_swept(f, run, &r[i], &g[i], &t[i],
					    per_trial);
			else
				junit_unswept(f, run, &r[i], &t[i]);
		}
		fputs("</testsuites>\n", f);
	}
	free(t);
	groups_free(g, n);
	return f ? atomic_commit(&a, err, errlen) : -1;
}

/* --- JSON ------------------------------------------------------------- */

static void json_depth(FILE *f, int depth, const struct depth_counts *c)
{
	fprintf(f,
		"{\"depth\": %d, \"schedules\": %zu, \"passed\": %zu, "
		"\"failed\": %zu, \"arch_shutdown\": %zu, \"outside\": %zu, "
		"\"impossible\": %zu, \"held_out\": %zu, \"unraisable\": %zu, "
		"\"harness_errors\": %zu}",
		depth, c->schedules, c->passed, c->failed, c->arch_shutdown,
		c->outside, c->impossible, c->held_out, c->unraisable,
		c->harness_errors);
}

static void json_failure(FILE *f, const struct sweep_failure *sf)
{
	fputs("{\"schedule\": ", f);
	json_string(f, sf->schedule);
	fprintf(f, ", \"depth\": %d, \"event\": ", sf->depth);
	json_string(f, event_kind_name(sf->kind));
	fputs(", \"window\": ", f);
	json_string(f, sf->window);
	fputs(", \"verdict\": ", f);
	json_string(f, sf->verdict);
	fputs(", \"declared\": ", f);
	json_string(f, sf->declared);
	fprintf(f, ", \"as_declared\": %s, \"outside\": %s, \"assumption\": ",
		sf->as_declared ? "true" : "false",
		sf->outside ? "true" : "false");
	json_opt(f, sf->assumption);
	fputs(", \"signature\": ", f);
	json_opt(f, sf->signature);
	fputs(", \"crash\": ", f);
	json_opt(f, sf->crash);
	fputs(", \"details\": ", f);
	json_string(f, sf->details);
	fputs("}", f);
}

static void json_stub(FILE *f, const struct stub_result *r,
		      const struct ci_group *g)
{
	struct depth_counts t = totals(r);
	int depth = depths(r);
	const char *sep = "";

	fputs("    {\n      \"name\": ", f);
	json_string(f, r->name);
	fprintf(f, ",\n      \"swept\": %s,\n      \"golden_failed\": %s,\n",
		r->swept ? "true" : "false",
		r->golden_failed ? "true" : "false");
	fputs("      \"error\": ", f);
	json_string(f, r->swept ? NULL : r->error);
	fprintf(f,
		",\n      \"schedules\": %zu,\n      \"passed\": %zu,\n"
		"      \"failures\": %zu,\n      \"harness_errors\": %zu,\n"
		"      \"unexpected\": %zu,\n      \"no_longer_failing\": "
		"%zu,\n"
		"      \"crashes_written\": %zu,\n      \"dropped\": %zu,\n",
		t.schedules, t.passed, t.failed + t.outside, t.harness_errors,
		r->unexpected, r->no_longer_failing, r->crashes_written,
		r->dropped);
	fputs("      \"per_depth\": [", f);
	for (int d = 0; r->swept && d < depth; d++) {
		fprintf(f, "%s\n        ", sep);
		json_depth(f, d + 1, &r->counts[d]);
		sep = ",";
	}
	fputs(*sep ? "\n      ],\n" : "],\n", f);
	sep = "";
	fputs("      \"failure_list\": [", f);
	for (size_t i = 0; i < r->nfailures; i++) {
		fprintf(f, "%s\n        ", sep);
		json_failure(f, &r->failures[i]);
		sep = ",";
	}
	fputs(*sep ? "\n      ],\n" : "],\n", f);
	sep = "";
	fputs("      \"windows\": [", f);
	for (size_t i = 0; i < g->ncases; i++) {
		const struct ci_case *k = &g->cases[i];

		if (!k->in_map)
			continue;
		fprintf(f, "%s\n        {\"window\": ", sep);
		json_string(f, k->window);
		fputs(", \"event\": ", f);
		json_string(f, event_kind_name(k->kind));
		fprintf(f,
			", \"depth\": %d, \"tried\": %" PRIu64
			", \"skipped\": %" PRIu64 ", \"worst\": ",
			k->depth, k->tried, k->skipped);
		json_string(f, cov_outcome_name(k->worst));
		fputs("}", f);
		sep = ",";
	}
	fputs(*sep ? "\n      ]\n    }" : "]\n    }", f);
}

int ci_write_json(const char *path, const struct ci_run *run,
		  const struct stub_result *r, size_t n,
		  const struct coverage *cov, char *err, size_t errlen)
{
	struct atomic_file a;
	struct ci_group *g;
	FILE *f;

	if (group_all(r, n, cov, &g, err, errlen))
		return -1;
	f = atomic_open(&a, path, err, errlen);
	if (!f) {
		groups_free(g, n);
		return -1;
	}
	fputs("{\n  \"version\": 1,\n  \"tool\": \"ist-torture\",\n"
	      "  \"backend\": ",
	      f);
	json_string(f, run->backend);
	/* 64-bit values are hex strings, as everywhere in ist-torture's
	 * JSON: a JavaScript number would round them. */
	fprintf(f, ",\n  \"seed\": \"0x%" PRIx64 "\",\n  \"depth\": %d,\n",
		run->seed, run->depth);
	fputs("  \"events\": ", f);
	json_string(f, run->events);
	fputs(",\n  \"shard\": ", f);
	json_string(f, run->shard);
	fprintf(f, ",\n  \"complete\": %s,\n  \"seconds\": ",
		run->complete ? "true" : "false");
	put_seconds(f, run->seconds);
	fprintf(f, ",\n  \"exit_status\": %d,\n  \"stubs\": [",
		run->exit_status);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_stub(f, &r[i], &g[i]);
	}
	fputs(n ? "\n  ]\n}\n" : "]\n}\n", f);
	groups_free(g, n);
	return atomic_commit(&a, err, errlen);
}
