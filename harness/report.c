#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crashfile.h"
#include "report.h"

/* Past these, failures are listed one line each, then only counted. */
#define REPORT_FULL  12
#define REPORT_LINES 200

void report_header(FILE *f, const char *backend,
		   const struct sweep_options *opt)
{
	fprintf(f, "ist-torture sweep\n");
	fprintf(f, "  back end: %s\n", backend);
	report_options(f, opt);
}

void report_options(FILE *f, const struct sweep_options *opt)
{
	fprintf(f, "  workload seed: 0x%" PRIx64 "   depth: %d   events:",
		opt->seed, opt->depth);
	for (int d = 0; d < opt->depth; d++) {
		int first = 1;
		fprintf(f, "%s", d ? " >" : "");
		for (int k = 0; k < EVENT_KIND_COUNT; k++)
			if (opt->events[d] & (1u << k)) {
				fprintf(f, "%s%s", first ? " " : ",",
					injector_for(k)->name);
				first = 0;
			}
	}
	for (int d = 0; d < opt->depth; d++)
		if (opt->events[d] & (1u << EVENT_DB)) {
			fprintf(f, "   #DB by: %s",
				opt->db_method == DB_BY_PAYLOAD ? "payload"
								: "guest DR0");
			break;
		}
	if (opt->at)
		fprintf(f, "   %s at: %s",
			strchr(opt->at, '>') ? "injections" : "first injection",
			opt->at);
	if (opt->exec)
		fprintf(f, " (execution %u)", opt->exec);
	fprintf(f, "\n\n");
}

static const char *record_tag(const struct sweep_record *r)
{
	if (r->verdict.kind == VERDICT_HARNESS_ERROR)
		return "ERROR";
	if (r->assumption)
		return "APART";
	if (r->verdict.kind == VERDICT_PASS)
		return "PASS!";
	return r->as_declared ? "FAIL " : "FAIL!";
}

/* Where a data breakpoint's #DB comes from: the MOV SS (disassembled from
 * the image) whose operand it watches. */
static void report_watch(FILE *f, const struct stub_sweep *s,
			 const struct injection *inj)
{
	char on[160], by[160];
	uint8_t code[16];
	struct insn mov;

	if (image_read(&s->img, inj->db_watch_from, code, sizeof(code)) ||
	    insn_decode(code, sizeof(code), inj->db_watch_from, &mov))
		snprintf(mov.text, sizeof(mov.text), "MOV SS");
	fprintf(f,
		"           the trap of a data breakpoint on %s, read by %s  "
		"%s, held past the instruction in its shadow\n",
		image_format_addr(&s->img, inj->db_watch_addr, on, sizeof(on)),
		image_format_addr(&s->img, inj->db_watch_from, by, sizeof(by)),
		mov.text);
}

static void report_steps(FILE *f, const struct stub_sweep *s,
			 const struct schedule *sc)
{
	for (int k = 0; k < sc->depth; k++) {
		const struct schedule_step *st = &sc->step[k];
		char where[200];

		image_format_addr(&s->img, st->addr, where, sizeof(where));
		fprintf(f, "        %d. %-3s at %s%s%.0u  %s", k + 1,
			injector_for(st->inj.kind)->name, where,
			st->exec > 1 ? " #" : "", st->exec > 1 ? st->exec : 0,
			st->insn);
		if (st->delivered_addr != st->addr) {
			image_format_addr(&s->img, st->delivered_addr, where,
					  sizeof(where));
			fprintf(f, "   (%s; delivered at %s)",
				model_outcome_name(st->outcome), where);
		}
		fprintf(f, "\n");
		if (st->inj.kind == EVENT_DB &&
		    st->inj.db_cause == DB_DATA_BREAKPOINT)
			report_watch(f, s, &st->inj);
	}
}

/* The failures inside the stub's assumptions, one line per signature
 * (crashfile.h: verdict, window, fields): a count and a representative,
 * the name its crash file has. */
static void report_signatures(FILE *f, const struct stub_sweep *s)
{
	struct group {
		char sig[17];
		size_t count, first;
	} *g = calloc(s->nrecords ? s->nrecords : 1, sizeof(*g));
	size_t ng = 0;

	if (!g)
		return;
	for (size_t i = 0; i < s->nrecords; i++) {
		const struct sweep_record *r = &s->records[i];
		char sig[17];
		size_t k;

		if (r->assumption || r->verdict.kind == VERDICT_PASS ||
		    r->verdict.kind == VERDICT_HARNESS_ERROR)
			continue;
		crash_signature(s->name, &s->img, &r->sched, &r->verdict, sig);
		for (k = 0; k < ng && strcmp(g[k].sig, sig); k++)
			;
		if (k == ng) {
			memcpy(g[ng].sig, sig, sizeof(sig));
			g[ng++].first = i;
		}
		g[k].count++;
	}
	if (ng)
		fprintf(f,
			"  %zu distinct failure%s (by signature: verdict, "
			"window, fields):\n",
			ng, ng == 1 ? "" : "s");
	for (size_t k = 0; k < ng; k++) {
		const struct sweep_record *r = &s->records[g[k].first];
		const struct schedule_step *last =
			&r->sched.step[r->sched.depth - 1];
		const struct guest_symbol *sym = image_symbol_at(
			&s->img, last->delivered_addr ? last->delivered_addr
						      : last->addr);
		char sched[600];

		fprintf(f, "    %5zux %s in %s, e.g. %s  [%s-%s-%s.crash]\n",
			g[k].count, verdict_name(r->verdict.kind),
			sym ? sym->name : "?",
			schedule_format(&s->img, &r->sched, sched,
					sizeof(sched)),
			s->name, verdict_name(r->verdict.kind), g[k].sig);
	}
	free(g);
}

void report_record(FILE *f, const struct stub_sweep *s,
		   const struct sweep_record *r, int full)
{
	const struct verdict *v = &r->verdict;
	char sched[600], at[160];

	schedule_format(&s->img, &r->sched, sched, sizeof(sched));
	fprintf(f, "  %s %s: %s", record_tag(r), sched, verdict_name(v->kind));
	if (r->assumption)
		fprintf(f, " (outside assumptions)");
	else if (v->kind == VERDICT_PASS)
		fprintf(f, " (the stub declares %s)",
			declaration_name(r->declared));
	else if (!r->as_declared)
		fprintf(f, " (NOT declared by the stub)");
	fprintf(f, "\n");
	if (!full)
		return;
	report_steps(f, s, &r->sched);
	fprintf(f, "        %s", v->summary);
	if (v->fault_rip)
		fprintf(f, " at %s",
			image_format_addr(&s->img, v->fault_rip, at,
					  sizeof(at)));
	fprintf(f, "\n");
	if (r->assumption)
		fprintf(f, "        %s: %s\n",
			r->assumption->events & IST_ASSUME_HOLE
				? "falls in the hole the stub declares "
				  "(KNOWN_HOLE)"
				: "breaks the stub's assumption",
			r->assumption->text);
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

static void report_counts(FILE *f, int depth, const struct depth_counts *c)
{
	fprintf(f, "  depth %d: %zu schedules: %zu passed, %zu failed", depth,
		c->schedules, c->passed, c->failed);
	if (c->arch_shutdown)
		fprintf(f, ", %zu architectural-shutdown", c->arch_shutdown);
	if (c->outside)
		fprintf(f, ", %zu outside assumptions", c->outside);
	if (c->harness_errors)
		fprintf(f, ", %zu HARNESS ERRORS", c->harness_errors);
	if (c->impossible)
		fprintf(f,
			"; %zu not run (the model says the event cannot "
			"arise there)",
			c->impossible);
	if (c->unraisable)
		fprintf(f,
			"; %zu not run (a #DB by the guest's DR0 cannot be "
			"raised once at the #DB gate itself: --db-method "
			"payload, on KVM, can)",
			c->unraisable);
	if (c->held_out)
		fprintf(f,
			"; %zu not run (held past the trace's end: they land "
			"outside entry text)",
			c->held_out);
	fprintf(f, "\n");
}

/* The stub's FIXUP_TABLE against the table derived from the decode. */
static void report_fixup(FILE *f, const struct stub_sweep *s)
{
	const struct fixup_check *c = &s->fixup;
	char at[160];

	if (!c->declared)
		return;
	if (c->error[0]) {
		fprintf(f, "  fixup table: not checked: %s\n", c->error);
		return;
	}
	if (!c->nmismatches) {
		fprintf(f,
			"  fixup table: agrees with the decode at all %d "
			"instructions\n",
			c->ninsns);
		return;
	}
	fprintf(f,
		"  fixup table: DISAGREES with the decode at %d of %d "
		"instructions (bytes popped before each):\n",
		c->nmismatches, c->ninsns);
	for (int i = 0; i < c->ninsns; i++) {
		const struct fixup_entry *e = &c->insns[i];
		if (e->table == e->derived)
			continue;
		fprintf(f, "        %-24s %-20s table 0x%02x, code 0x%02x\n",
			image_format_addr(&s->img, e->addr, at, sizeof(at)),
			e->insn, e->table, e->derived);
	}
}

void report_stub_about(FILE *f, const struct stub_sweep *s)
{
	fprintf(f, "stub %s", s->name);
	if (s->loaded && s->lay.info[0])
		fprintf(f, ": %s", s->lay.info);
	fprintf(f, "\n");
	if (!s->loaded)
		return;
	fprintf(f, "  %zu boundaries in the golden trace; handles:",
		s->golden.trace.n);
	for (int k = 0; k < EVENT_KIND_COUNT; k++)
		if (s->lay.handles & (1u << k))
			fprintf(f, " %s", injector_for(k)->name);
	fprintf(f, "\n");
	report_fixup(f, s);
}

void report_stub(FILE *f, const struct stub_sweep *s)
{
	size_t lines = 0, full = 0;

	report_stub_about(f, s);
	if (!s->loaded) {
		fprintf(f, "  NOT SWEPT: %s\n\n", s->error);
		return;
	}
	for (int d = 0; d < s->depth; d++)
		report_counts(f, d + 1, &s->counts[d]);
	fprintf(f, "  %s\n",
		s->not_as_declared ? "NOT as the stub declares"
				   : "all as the stub declares");
	if (s->stopped)
		fprintf(f,
			"  stopped before the end: after first injection %u "
			"of %zu (ordinal %u)\n",
			s->position_len ? s->position[0] + 1 : 0,
			s->first_level_total,
			s->position_len ? s->position[0] : 0);
	if (s->first_failure_seconds > 0)
		fprintf(f,
			"  first finding (a failure inside the assumptions or "
			"in a KNOWN_HOLE) after %.1f s of sweeping (schedule "
			"%zu)\n",
			s->first_failure_seconds, s->first_failure_schedule);
	if (s->crashes_written)
		fprintf(f, "  %zu new crash file%s (one per signature)\n",
			s->crashes_written, s->crashes_written == 1 ? "" : "s");
	if (s->crash_write_errors)
		fprintf(f, "  %zu crash files NOT written: %s\n",
			s->crash_write_errors, s->crash_error);
	/* Harness errors first, then the other undeclared results: they
	 * decide the exit status. */
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < s->nrecords; i++) {
			const struct sweep_record *r = &s->records[i];
			int error = r->verdict.kind == VERDICT_HARNESS_ERROR;
			int rank = error ? 0 : !r->as_declared ? 1 : 2;
			if (rank != pass)
				continue;
			if (lines++ >= REPORT_LINES)
				continue;
			report_record(f, s, r, full++ < REPORT_FULL);
		}
	}
	if (lines > REPORT_LINES)
		fprintf(f, "  ... and %zu more\n", lines - REPORT_LINES);
	report_signatures(f, s);
	if (s->dropped_records)
		fprintf(f, "  (%zu more not kept: over %zu records)\n",
			s->dropped_records, s->max_records);
	fprintf(f, "\n");
}

/* A failure's first line (its details start with report_record's). */
static void print_first_line(FILE *f, const char *details)
{
	size_t n = strcspn(details, "\n");

	fprintf(f, "%.*s\n", (int)n, details);
}

void report_result(FILE *f, const struct stub_result *r)
{
	size_t lines = 0, full = 0;

	if (r->about)
		fputs(r->about, f);
	else
		fprintf(f, "stub %s\n", r->name);
	if (!r->swept) {
		fprintf(f, "  NOT SWEPT: %s\n\n", r->error);
		return;
	}
	for (int d = 0; d < r->depth; d++)
		report_counts(f, d + 1, &r->counts[d]);
	fprintf(f, "  %s\n",
		r->unexpected || r->no_longer_failing
			? "NOT as the stub declares"
			: "all as the stub declares");
	if (r->crashes_written)
		fprintf(f, "  %zu new crash file%s (one per signature)\n",
			r->crashes_written, r->crashes_written == 1 ? "" : "s");
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < r->nfailures; i++) {
			const struct sweep_failure *e = &r->failures[i];
			int error =
				!strcmp(e->verdict,
					verdict_name(VERDICT_HARNESS_ERROR));
			int rank = error ? 0 : !e->as_declared ? 1 : 2;

			if (rank != pass || lines++ >= REPORT_LINES)
				continue;
			if (full++ < REPORT_FULL)
				fputs(e->details ? e->details : "", f);
			else
				print_first_line(f,
						 e->details ? e->details : "");
		}
	}
	if (lines > REPORT_LINES)
		fprintf(f, "  ... and %zu more\n", lines - REPORT_LINES);
	if (r->dropped)
		fprintf(f, "  (%zu more not kept)\n", r->dropped);
	fprintf(f, "\n");
}
