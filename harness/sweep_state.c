#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../injectors/injector.h"
#include "atomic_file.h"
#include "sweep_state.h"
#include "xalloc.h"

static const char *const progress_names[] = {
	[STUB_PENDING] = "pending",
	[STUB_STOPPED] = "stopped",
	[STUB_DONE] = "done",
};

void sweep_state_init(struct sweep_state *st)
{
	memset(st, 0, sizeof(*st));
	coverage_init(&st->coverage);
}

void sweep_state_free(struct sweep_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		stub_result_free(&st->stubs[i].result);
	free(st->stubs);
	coverage_free(&st->coverage);
	memset(st, 0, sizeof(*st));
}

struct state_stub *sweep_state_stub(struct sweep_state *st, const char *name)
{
	struct state_stub *s;

	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->stubs[i].result.name, name) == 0)
			return &st->stubs[i];
	st->stubs = xrealloc(st->stubs, st->n + 1, sizeof(*s));
	s = &st->stubs[st->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->result.name, sizeof(s->result.name), "%s", name);
	s->result.swept = 1;
	return s;
}

int sweep_state_complete(const struct sweep_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->stubs[i].progress != STUB_DONE)
			return 0;
	return 1;
}

/* --- writing ------------------------------------------------------------ */

/* A value on one line: line breaks become spaces. */
static void put(FILE *f, const char *key, const char *value)
{
	fprintf(f, "%s ", key);
	for (; *value; value++)
		fputc(*value == '\n' || *value == '\r' ? ' ' : *value, f);
	fputc('\n', f);
}

static void write_counts(FILE *f, int depth, const struct depth_counts *c)
{
	fprintf(f, "counts %d %zu %zu %zu %zu %zu %zu %zu %zu %zu\n", depth,
		c->schedules, c->passed, c->failed, c->arch_shutdown,
		c->outside, c->impossible, c->held_out, c->unraisable,
		c->harness_errors);
}

static void write_failure(FILE *f, const struct sweep_failure *x)
{
	const char *details = x->details ? x->details : "";

	fprintf(f, "failure\n");
	put(f, "schedule", x->schedule);
	fprintf(f, "depth %d\n", x->depth);
	put(f, "event", injector_for(x->kind)->name);
	put(f, "window", x->window);
	put(f, "verdict", x->verdict);
	put(f, "declared", x->declared);
	fprintf(f, "as-declared %d\noutside %d\n", x->as_declared, x->outside);
	put(f, "assumption", x->assumption);
	put(f, "signature", x->signature);
	put(f, "crash", x->crash);
	/* The full report, verbatim: its length, then its bytes. */
	fprintf(f, "details %zu\n%s\n", strlen(details), details);
	fprintf(f, "end\n");
}

static void write_stub(FILE *f, const struct state_stub *s)
{
	const struct stub_result *r = &s->result;

	put(f, "stub", r->name);
	if (r->about)
		fprintf(f, "about %zu\n%s\n", strlen(r->about), r->about);
	fprintf(f, "progress %s", progress_names[s->progress]);
	for (int l = 0; l < s->position_len; l++)
		fprintf(f, " %u", s->position[l]);
	fprintf(f, "\nswept %d\ngolden-failed %d\n", r->swept,
		r->golden_failed);
	put(f, "error", r->error);
	fprintf(f, "depth %d\n", r->depth);
	for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
		write_counts(f, d + 1, &r->counts[d]);
	fprintf(f,
		"unexpected %zu\nno-longer-failing %zu\ncrashes-written "
		"%zu\ndropped %zu\n",
		r->unexpected, r->no_longer_failing, r->crashes_written,
		r->dropped);
	for (size_t i = 0; i < r->nfailures; i++)
		write_failure(f, &r->failures[i]);
}

int sweep_state_write(const char *path, const struct sweep_state *st, char *err,
		      size_t errlen)
{
	struct atomic_file a;
	FILE *f = atomic_open(&a, path, err, errlen);

	if (!f)
		return -1;
	fprintf(f, "# ist-torture sweep state (docs/ci.md)\n");
	fprintf(f, "ist-torture-state %d\n", SWEEP_STATE_VERSION);
	put(f, "options", st->options);
	put(f, "backend", st->backend);
	put(f, "shard", st->shard);
	fprintf(f, "seconds %.3f\n", st->seconds);
	for (size_t i = 0; i < st->n; i++)
		write_stub(f, &st->stubs[i]);
	fprintf(f, "coverage\n");
	coverage_print(f, &st->coverage);
	return atomic_commit(&a, err, errlen);
}

/* --- reading ------------------------------------------------------------ */

struct reader {
	FILE *f;
	const char *path;
	int line;
	char buf[1400];
	char *err;
	size_t errlen;
};

static int bad(struct reader *r, const char *what)
{
	snprintf(r->err, r->errlen, "%s:%d: %s", r->path, r->line, what);
	return -1;
}

/* The next line; its value (after "key ") in *value. 0 at EOF. */
static int next(struct reader *r, char **value)
{
	char *sp;

	if (!fgets(r->buf, sizeof(r->buf), r->f))
		return 0;
	r->line++;
	r->buf[strcspn(r->buf, "\n")] = 0;
	sp = strchr(r->buf, ' ');
	*value = sp ? sp + 1 : r->buf + strlen(r->buf);
	if (sp)
		*sp = 0;
	return 1;
}

static int copy(struct reader *r, char *dst, size_t len, const char *value)
{
	if (strlen(value) >= len)
		return bad(r, "value too long: this state was not written by "
			      "ist-torture");
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

static int number(struct reader *r, const char *value, size_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(value, &end, 10);
	if (errno || end == value || *end)
		return bad(r, "expected a number");
	return 0;
}

/* A failure's one-line fields: text, and numbers. */
#define TEXT_FIELD(key, member)                                                \
	{                                                                      \
		key, offsetof(struct sweep_failure, member),                   \
			sizeof(((struct sweep_failure *)0)->member)            \
	}
static const struct {
	const char *key;
	size_t offset, size;
} text_fields[] = {
	TEXT_FIELD("schedule", schedule),
	TEXT_FIELD("window", window),
	TEXT_FIELD("verdict", verdict),
	TEXT_FIELD("declared", declared),
	TEXT_FIELD("assumption", assumption),
	TEXT_FIELD("signature", signature),
	TEXT_FIELD("crash", crash),
};
static const struct {
	const char *key;
	size_t offset;
} int_fields[] = {
	{"depth", offsetof(struct sweep_failure, depth)},
	{"as-declared", offsetof(struct sweep_failure, as_declared)},
	{"outside", offsetof(struct sweep_failure, outside)},
};

/* One line of a failure into x: 0, or -1 (said). */
static int failure_line(struct reader *r, const char *k, const char *v,
			struct sweep_failure *x)
{
	const struct injector *inj;
	size_t n;

	for (size_t i = 0; i < sizeof(text_fields) / sizeof(*text_fields); i++)
		if (!strcmp(k, text_fields[i].key))
			return copy(r, (char *)x + text_fields[i].offset,
				    text_fields[i].size, v);
	for (size_t i = 0; i < sizeof(int_fields) / sizeof(*int_fields); i++)
		if (!strcmp(k, int_fields[i].key)) {
			if (number(r, v, &n))
				return -1;
			*(int *)((char *)x + int_fields[i].offset) = (int)n;
			return 0;
		}
	if (strcmp(k, "event"))
		return bad(r, "unknown line in a failure");
	inj = injector_by_name(v);
	if (!inj)
		return bad(r, "unknown event kind");
	x->kind = inj->kind;
	return 0;
}

/* A text kept verbatim: its length (v), then its bytes and a newline.
 * -1 when cut short or over 1 MiB. */
static int read_verbatim(struct reader *r, const char *v, char **text)
{
	size_t n;

	if (number(r, v, &n) || n > 1 << 20 || !(*text = malloc(n + 1)))
		return -1;
	if (fread(*text, 1, n, r->f) != n || fgetc(r->f) != '\n') {
		free(*text);
		*text = NULL;
		return -1;
	}
	(*text)[n] = 0;
	for (size_t i = 0; i < n; i++)
		r->line += (*text)[i] == '\n';
	r->line++;
	return 0;
}

static int read_failure(struct reader *r, struct stub_result *res)
{
	struct sweep_failure x = {0};
	char *v;

	while (next(r, &v)) {
		const char *k = r->buf;

		if (!strcmp(k, "end")) {
			res->failures =
				xrealloc(res->failures, res->nfailures + 1,
					 sizeof(*res->failures));
			res->failures[res->nfailures++] = x;
			return 0;
		}
		if (!strcmp(k, "details")) {
			if (x.details || read_verbatim(r, v, &x.details))
				break;
			continue;
		}
		if (failure_line(r, k, v, &x)) {
			free(x.details);
			return -1;
		}
	}
	free(x.details);
	return bad(r, "the file ends inside a failure, or its details are "
		      "cut short");
}

static int read_counts(struct reader *r, const char *v, struct stub_result *res)
{
	struct depth_counts c;
	int d, n;

	if (sscanf(v, "%d %zu %zu %zu %zu %zu %zu %zu %zu %zu%n", &d,
		   &c.schedules, &c.passed, &c.failed, &c.arch_shutdown,
		   &c.outside, &c.impossible, &c.held_out, &c.unraisable,
		   &c.harness_errors, &n) != 10 ||
	    v[n] || d < 1 || d > SCHEDULE_MAX_DEPTH)
		return bad(r, "counts: a depth and nine counts expected");
	res->counts[d - 1] = c;
	return 0;
}

static int read_progress(struct reader *r, const char *v, struct state_stub *s)
{
	int n = 0, len;

	for (int p = STUB_PENDING; p <= STUB_DONE; p++) {
		len = (int)strlen(progress_names[p]);
		if (!strncmp(v, progress_names[p], len) &&
		    (!v[len] || v[len] == ' ')) {
			s->progress = p;
			v += len;
			break;
		}
		if (p == STUB_DONE)
			return bad(r, "progress must be pending, stopped or "
				      "done");
	}
	s->position_len = 0;
	while (*v == ' ') {
		if (s->position_len == SCHEDULE_MAX_DEPTH ||
		    sscanf(v, " %u%n", &s->position[s->position_len], &n) != 1)
			return bad(r, "a position is up to 4 ordinals");
		s->position_len++;
		v += n;
	}
	if (*v || (s->progress == STUB_STOPPED) != (s->position_len > 0))
		return bad(r, "a stopped stub, and only one, has a position");
	return 0;
}

static int read_state(struct reader *r, struct sweep_state *st)
{
	struct state_stub *s = NULL;
	int version = 0;
	size_t n;
	char *v;

	while (next(r, &v)) {
		const char *k = r->buf;

		if (k[0] == '#' || !k[0])
			continue;
		if (!version) {
			if (strcmp(k, "ist-torture-state") || number(r, v, &n))
				return bad(r,
					   "not a sweep state (it must start "
					   "with 'ist-torture-state 1')");
			if (n != SWEEP_STATE_VERSION)
				return bad(r, "another version of the state "
					      "format: resume with the "
					      "ist-torture that wrote it");
			version = 1;
		} else if (!strcmp(k, "coverage")) {
			return coverage_read_stream(r->f, r->path,
						    &st->coverage, r->err,
						    r->errlen);
		} else if (!strcmp(k, "options")) {
			if (copy(r, st->options, sizeof(st->options), v))
				return -1;
		} else if (!strcmp(k, "backend")) {
			if (copy(r, st->backend, sizeof(st->backend), v))
				return -1;
		} else if (!strcmp(k, "shard")) {
			if (copy(r, st->shard, sizeof(st->shard), v))
				return -1;
		} else if (!strcmp(k, "seconds")) {
			st->seconds = strtod(v, NULL);
		} else if (!strcmp(k, "stub")) {
			if (!v[0] || strlen(v) >= sizeof(s->result.name))
				return bad(r, "a stub needs a name");
			s = sweep_state_stub(st, v);
		} else if (!s) {
			return bad(r, "a stub's line before any 'stub' line");
		} else if (!strcmp(k, "about")) {
			if (s->result.about ||
			    read_verbatim(r, v, &s->result.about))
				return bad(r,
					   "a stub's about text twice, or cut "
					   "short");
		} else if (!strcmp(k, "progress")) {
			if (read_progress(r, v, s))
				return -1;
		} else if (!strcmp(k, "error")) {
			if (copy(r, s->result.error, sizeof(s->result.error),
				 v))
				return -1;
		} else if (!strcmp(k, "counts")) {
			if (read_counts(r, v, &s->result))
				return -1;
		} else if (!strcmp(k, "failure")) {
			if (read_failure(r, &s->result))
				return -1;
		} else {
			size_t *field =
				!strcmp(k, "unexpected") ? &s->result.unexpected
				: !strcmp(k, "no-longer-failing")
					? &s->result.no_longer_failing
				: !strcmp(k, "crashes-written")
					? &s->result.crashes_written
				: !strcmp(k, "dropped") ? &s->result.dropped
							: NULL;

			if (!strcmp(k, "swept") ||
			    !strcmp(k, "golden-failed") ||
			    !strcmp(k, "depth")) {
				if (number(r, v, &n))
					return -1;
				*(!strcmp(k, "swept") ? &s->result.swept
				  : !strcmp(k, "depth")
					  ? &s->result.depth
					  : &s->result.golden_failed) = (int)n;
			} else if (!field) {
				return bad(r, "unknown line");
			} else if (number(r, v, field)) {
				return -1;
			}
		}
	}
	return bad(r, version ? "no coverage section: the file was cut short"
			      : "empty: not a sweep state");
}

int sweep_state_read(const char *path, struct sweep_state *st, char *err,
		     size_t errlen)
{
	struct reader r = {.path = path, .err = err, .errlen = errlen};
	int rc;

	sweep_state_init(st);
	r.f = fopen(path, "r");
	if (!r.f) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "cannot read sweep state %s: %s", path,
			 strerror(errno));
		return -1;
	}
	rc = read_state(&r, st);
	fclose(r.f);
	return rc;
}
