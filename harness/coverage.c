#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../injectors/injector.h"
#include "atomic_file.h"
#include "coverage.h"
#include "xalloc.h"
#include "oracle.h"

static const char *const outcome_names[COV_OUTCOME_COUNT] = {
	[COV_UNTRIED] = "untried",   [COV_PASS] = "pass",
	[COV_SHUTDOWN] = "shutdown", [COV_OUTSIDE] = "outside",
	[COV_DECLARED] = "declared", [COV_UNDECLARED] = "undeclared",
	[COV_HARNESS] = "harness",
};

const char *cov_outcome_name(enum cov_outcome o)
{
	return o < COV_OUTCOME_COUNT ? outcome_names[o] : "?";
}

void coverage_init(struct coverage *c)
{
	memset(c, 0, sizeof(*c));
}

static void stub_free(struct cov_stub *s)
{
	free(s->windows);
	free(s->cells);
	free(s->reach);
}

void coverage_free(struct coverage *c)
{
	for (size_t i = 0; i < c->n; i++)
		stub_free(&c->stubs[i]);
	free(c->stubs);
	memset(c, 0, sizeof(*c));
}

struct cov_stub *coverage_stub(struct coverage *c, const char *name,
			       uint64_t image_hash, char *err, size_t errlen)
{
	size_t i = 0;
	struct cov_stub *s;

	while (i < c->n && strcmp(c->stubs[i].name, name) < 0)
		i++;
	if (i < c->n && strcmp(c->stubs[i].name, name) == 0) {
		if (c->stubs[i].image_hash == image_hash)
			return &c->stubs[i];
		snprintf(err, errlen,
			 "the coverage of %s is of another build of it (image "
			 "%016" PRIx64 ", not %016" PRIx64
			 "): start a new map for the new build",
			 name, c->stubs[i].image_hash, image_hash);
		return NULL;
	}
	c->stubs = xrealloc(c->stubs, c->n + 1, sizeof(*c->stubs));
	memmove(&c->stubs[i + 1], &c->stubs[i], (c->n - i) * sizeof(*c->stubs));
	c->n++;
	s = &c->stubs[i];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->image_hash = image_hash;
	return s;
}

unsigned cov_window(struct cov_stub *s, const char *label)
{
	size_t cap = s->nwindows;

	for (size_t i = 0; i < s->nwindows; i++)
		if (strcmp(s->windows[i], label) == 0)
			return (unsigned)i;
	/* Grown one at a time: windows are few (tens per stub). */
	cap = s->nwindows + 1;
	s->windows = xrealloc(s->windows, cap, sizeof(*s->windows));
	snprintf(s->windows[s->nwindows], WINDOW_LABEL_MAX, "%s", label);
	return (unsigned)s->nwindows++;
}

void cov_note_events(struct cov_stub *s, int depth, unsigned events)
{
	if (depth >= 1 && depth <= SCHEDULE_MAX_DEPTH)
		s->events[depth - 1] |= events;
}

/* Cells and reaches sort by address, window label, then kind and depth:
 * by label, not index, so that the order does not depend on which window
 * a map met first. */
static int cell_cmp(const struct cov_stub *s, uint64_t addr, const char *win,
		    int kind, int depth, const struct cov_cell *c)
{
	int w;

	if (addr != c->addr)
		return addr < c->addr ? -1 : 1;
	if ((w = strcmp(win, s->windows[c->window])))
		return w;
	if (kind != c->kind)
		return kind < c->kind ? -1 : 1;
	return depth < c->depth ? -1 : depth > c->depth;
}

/* The index where the cell is, or where it goes (*found = 0). */
static size_t cell_search(const struct cov_stub *s, uint64_t addr,
			  const char *win, int kind, int depth, int *found)
{
	size_t lo = 0, hi = s->ncells;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cell_cmp(s, addr, win, kind, depth, &s->cells[mid]);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = 0;
	return lo;
}

static struct cov_cell *cell_get(struct cov_stub *s, uint64_t addr,
				 const char *win, int kind, int depth)
{
	int found;
	size_t i = cell_search(s, addr, win, kind, depth, &found);

	if (!found) {
		unsigned w = cov_window(s, win);

		s->cells = xgrow(s->cells, &s->cap_cells, s->ncells,
				 sizeof(*s->cells));
		memmove(&s->cells[i + 1], &s->cells[i],
			(s->ncells - i) * sizeof(*s->cells));
		s->ncells++;
		s->cells[i] = (struct cov_cell){.addr = addr,
						.window = w,
						.kind = kind,
						.depth = depth,
						.worst_verdict = VERDICT_PASS};
	}
	return &s->cells[i];
}

const struct cov_cell *cov_find(const struct cov_stub *s, uint64_t addr,
				const char *window, int kind, int depth)
{
	int found;
	size_t i = cell_search(s, addr, window, kind, depth, &found);

	return found ? &s->cells[i] : NULL;
}

static void cell_add(struct cov_cell *c, uint64_t tried, uint64_t skipped,
		     enum cov_outcome worst, int worst_verdict)
{
	c->tried += tried;
	c->skipped += skipped;
	if (worst > c->worst) {
		c->worst = worst;
		c->worst_verdict = worst_verdict;
	}
}

void cov_trial(struct cov_stub *s, uint64_t addr, const char *window, int kind,
	       int depth, enum cov_outcome outcome, int verdict_kind)
{
	struct cov_cell *c = cell_get(s, addr, window, kind, depth);

	if (outcome == COV_UNTRIED)
		cell_add(c, 0, 1, COV_UNTRIED, VERDICT_PASS);
	else
		cell_add(c, 1, 0, outcome, verdict_kind);
}

void cov_reach(struct cov_stub *s, uint64_t addr, const char *window, int depth)
{
	size_t lo = 0, hi = s->nreach;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct cov_reach *r = &s->reach[mid];
		int c = addr != r->addr ? (addr < r->addr ? -1 : 1)
					: strcmp(window, s->windows[r->window]);

		if (c == 0)
			c = depth < r->depth ? -1 : depth > r->depth;
		if (c == 0)
			return;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	s->reach = xgrow(s->reach, &s->cap_reach, s->nreach, sizeof(*s->reach));
	memmove(&s->reach[lo + 1], &s->reach[lo],
		(s->nreach - lo) * sizeof(*s->reach));
	s->nreach++;
	s->reach[lo] = (struct cov_reach){
		.addr = addr, .window = cov_window(s, window), .depth = depth};
}

int coverage_merge(struct coverage *dst, const struct coverage *src, char *err,
		   size_t errlen)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct cov_stub *from = &src->stubs[i];
		struct cov_stub *to = coverage_stub(
			dst, from->name, from->image_hash, err, errlen);

		if (!to)
			return -1;
		for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
			to->events[d] |= from->events[d];
		for (size_t k = 0; k < from->ncells; k++) {
			const struct cov_cell *c = &from->cells[k];

			cell_add(cell_get(to, c->addr, from->windows[c->window],
					  c->kind, c->depth),
				 c->tried, c->skipped, c->worst,
				 c->worst_verdict);
		}
		for (size_t k = 0; k < from->nreach; k++)
			cov_reach(to, from->reach[k].addr,
				  from->windows[from->reach[k].window],
				  from->reach[k].depth);
	}
	return 0;
}

/* --- the text form ------------------------------------------------------ */

/* Windows are written sorted by label, each named by its rank: equal maps
 * print equal bytes, whatever order their windows were met in. */
static int label_cmp(const void *a, const void *b, void *windows)
{
	char(*w)[WINDOW_LABEL_MAX] = windows;

	return strcmp(w[*(const unsigned *)a], w[*(const unsigned *)b]);
}

void coverage_print(FILE *f, const struct coverage *c)
{
	fprintf(f, "# ist-torture coverage map (docs/ci.md)\n");
	fprintf(f, "ist-torture-coverage %d\n", COVERAGE_VERSION);
	for (size_t i = 0; i < c->n; i++) {
		const struct cov_stub *s = &c->stubs[i];
		unsigned *order = xcalloc(s->nwindows, sizeof(*order));
		unsigned *rank = xcalloc(s->nwindows, sizeof(*rank));

		for (unsigned k = 0; k < s->nwindows; k++)
			order[k] = k;
		qsort_r(order, s->nwindows, sizeof(*order), label_cmp,
			s->windows);
		for (unsigned k = 0; k < s->nwindows; k++)
			rank[order[k]] = k;
		fprintf(f, "stub %s %016" PRIx64 "\n", s->name, s->image_hash);
		for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
			if (s->events[d])
				fprintf(f, "events %d 0x%x\n", d + 1,
					s->events[d]);
		for (unsigned k = 0; k < s->nwindows; k++)
			fprintf(f, "window %u %s\n", k, s->windows[order[k]]);
		for (size_t k = 0; k < s->nreach; k++)
			fprintf(f, "reach 0x%016" PRIx64 " %u %d\n",
				s->reach[k].addr, rank[s->reach[k].window],
				s->reach[k].depth);
		for (size_t k = 0; k < s->ncells; k++) {
			const struct cov_cell *cl = &s->cells[k];

			fprintf(f,
				"cell 0x%016" PRIx64 " %u %s %d %" PRIu64
				" %" PRIu64 " %s %s\n",
				cl->addr, rank[cl->window],
				injector_for(cl->kind)->name, cl->depth,
				cl->tried, cl->skipped,
				cov_outcome_name(cl->worst),
				verdict_name(cl->worst_verdict));
		}
		free(order);
		free(rank);
	}
}

int coverage_write(const char *path, const struct coverage *c, char *err,
		   size_t errlen)
{
	struct atomic_file a;
	FILE *f = atomic_open(&a, path, err, errlen);

	if (!f)
		return -1;
	coverage_print(f, c);
	return atomic_commit(&a, err, errlen);
}

int coverage_save(const char *path, int merge, const struct coverage *c,
		  char *err, size_t errlen)
{
	struct coverage all;
	int rc = 0;

	coverage_init(&all);
	if (merge && access(path, F_OK) == 0)
		rc = coverage_read(path, &all, err, errlen);
	if (!rc)
		rc = coverage_merge(&all, c, err, errlen);
	if (!rc)
		rc = coverage_write(path, &all, err, errlen);
	coverage_free(&all);
	return rc;
}

static int parse_outcome(const char *name)
{
	for (int o = 0; o < COV_OUTCOME_COUNT; o++)
		if (strcmp(outcome_names[o], name) == 0)
			return o;
	return -1;
}

static int parse_verdict(const char *name)
{
	for (int v = 0; v < VERDICT_KIND_COUNT; v++)
		if (strcmp(verdict_name(v), name) == 0)
			return v;
	return -1;
}

/* One map file, read into a map of its own (then merged). */
static int read_map(FILE *f, const char *path, struct coverage *c, char *err,
		    size_t errlen)
{
	char line[512], name[64], word[3][32], label[WINDOW_LABEL_MAX];
	struct cov_stub *s = NULL;
	unsigned nwin = 0;
	int lineno = 0, version = 0, n;

#define BAD(...)                                                               \
	do {                                                                   \
		snprintf(err, errlen, "%s:%d: ", path, lineno);                \
		snprintf(err + strlen(err), errlen - strlen(err),              \
			 __VA_ARGS__);                                         \
		return -1;                                                     \
	} while (0)

	while (fgets(line, sizeof(line), f)) {
		uint64_t addr, hash, tried, skipped;
		unsigned win, events;
		int depth, kind, outcome, verdict;

		lineno++;
		if (!strchr(line, '\n') && !feof(f))
			BAD("line too long: this is not a coverage map");
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '#' || line[0] == 0)
			continue;
		if (!version) {
			if (sscanf(line, "ist-torture-coverage %d%n", &version,
				   &n) != 1 ||
			    line[n])
				BAD("not a coverage map (it must start with "
				    "'ist-torture-coverage %d')",
				    COVERAGE_VERSION);
			if (version != COVERAGE_VERSION)
				BAD("coverage map version %d; this ist-torture "
				    "reads version %d",
				    version, COVERAGE_VERSION);
			continue;
		}
		if (sscanf(line, "stub %63s %" SCNx64 "%n", name, &hash, &n) ==
			    2 &&
		    !line[n]) {
			char why[300];

			s = coverage_stub(c, name, hash, why, sizeof(why));
			if (!s)
				BAD("%s", why);
			nwin = 0;
			continue;
		}
		if (!s)
			BAD("'%s' before any 'stub' line", line);
		if (sscanf(line, "events %d 0x%x%n", &depth, &events, &n) ==
			    2 &&
		    !line[n]) {
			if (depth < 1 || depth > SCHEDULE_MAX_DEPTH)
				BAD("depth %d is not 1..%d", depth,
				    SCHEDULE_MAX_DEPTH);
			cov_note_events(s, depth, events);
			continue;
		}
		if (sscanf(line, "window %u %n", &win, &n) == 1) {
			if (win != nwin || !line[n] ||
			    strlen(line + n) >= sizeof(label))
				BAD("window %u: windows are numbered from 0 "
				    "in order, each with its label",
				    win);
			if (cov_window(s, line + n) != nwin++)
				BAD("window '%s' is in the map twice",
				    line + n);
			continue;
		}
		if (sscanf(line, "reach 0x%" SCNx64 " %u %d%n", &addr, &win,
			   &depth, &n) == 3 &&
		    !line[n]) {
			if (win >= nwin || depth < 1 ||
			    depth > SCHEDULE_MAX_DEPTH)
				BAD("reach names window %u or depth %d, which "
				    "the map does not have",
				    win, depth);
			cov_reach(s, addr, s->windows[win], depth);
			continue;
		}
		if (sscanf(line,
			   "cell 0x%" SCNx64 " %u %31s %d %" SCNu64 " %" SCNu64
			   " %31s %31s%n",
			   &addr, &win, word[0], &depth, &tried, &skipped,
			   word[1], word[2], &n) == 8 &&
		    !line[n]) {
			kind = injector_by_name(word[0])
				       ? (int)injector_by_name(word[0])->kind
				       : -1;
			outcome = parse_outcome(word[1]);
			verdict = parse_verdict(word[2]);
			if (win >= nwin || depth < 1 ||
			    depth > SCHEDULE_MAX_DEPTH || kind < 0 ||
			    outcome < 0 || verdict < 0)
				BAD("cell with an unknown window, depth, "
				    "event, "
				    "outcome or verdict");
			cell_add(
				cell_get(s, addr, s->windows[win], kind, depth),
				tried, skipped, outcome, verdict);
			continue;
		}
		BAD("cannot read '%.60s' (see docs/ci.md for the format)",
		    line);
	}
	if (!version)
		BAD("empty: not a coverage map");
#undef BAD
	return 0;
}

int coverage_read_stream(FILE *f, const char *path, struct coverage *c,
			 char *err, size_t errlen)
{
	struct coverage one;
	int rc;

	coverage_init(&one);
	rc = read_map(f, path, &one, err, errlen);
	if (rc == 0)
		rc = coverage_merge(c, &one, err, errlen);
	coverage_free(&one);
	return rc;
}

int coverage_read(const char *path, struct coverage *c, char *err,
		  size_t errlen)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (!f) {
		snprintf(err, errlen, "cannot read coverage map %s: %s", path,
			 strerror(errno));
		return -1;
	}
	rc = coverage_read_stream(f, path, c, err, errlen);
	fclose(f);
	return rc;
}
