#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../injectors/injector.h"
#include "atomic_file.h"
#include "coverage_report.h"
#include "xalloc.h"
#include "disasm.h"
#include "oracle.h"
#include "subprocess.h"
#include "text_escape.h"

#define AT_MAX 160

/* Untried combinations the summary names before it only counts them. */
#define UNTRIED_MAX_LINES  24
#define UNTRIED_MAX_RANGES 6

/* --- the stub's text and what the map says of each boundary ------------- */

/* One line of the listing: an instruction of the traced text, or a
 * boundary of the map that is no instruction start of it (an "orphan":
 * a map of another decode, or a boundary outside the traced ranges), so
 * that nothing the map holds goes unshown. */
struct row {
	uint64_t addr;
	char at[AT_MAX];
	char text[112 + AT_MAX];
	int sym_start; /* the first instruction of a symbol */
	int region;    /* 0: entry text; i: TRACE_USER range i-1; -1: orphan */
};

struct view {
	const struct cov_image *ci;
	struct row *rows; /* by region, then address; orphans last */
	size_t nrows, nlisted;
	/* Event kinds shown at each depth (1 << enum event_kind). */
	unsigned kinds[SCHEDULE_MAX_DEPTH];
};

/* What the map says of one boundary for one event kind at one depth,
 * over one window or all of them. */
struct agg {
	int reached;
	uint64_t tried, skipped;
	enum cov_outcome worst;
	int verdict;
};

#define ALL_WINDOWS (-1L)

/* Cells and reach records are both sorted by an address that is their
 * first member: one search serves both. */
_Static_assert(offsetof(struct cov_cell, addr) == 0, "addr leads a cell");
_Static_assert(offsetof(struct cov_reach, addr) == 0, "addr leads a reach");

/* The index of the first of n records of size bytes at base whose
 * address is not below addr (n when there is none). */
static size_t first_at(const void *base, size_t n, size_t size, uint64_t addr)
{
	const unsigned char *b = base;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t a;

		memcpy(&a, b + mid * size, sizeof(a));
		if (a < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t first_cell(const struct cov_stub *s, uint64_t addr)
{
	return first_at(s->cells, s->ncells, sizeof(*s->cells), addr);
}

static size_t first_reach(const struct cov_stub *s, uint64_t addr)
{
	return first_at(s->reach, s->nreach, sizeof(*s->reach), addr);
}

static void add_cell(struct agg *a, const struct cov_cell *c)
{
	a->reached = 1;
	a->tried += c->tried;
	a->skipped += c->skipped;
	if (c->tried && c->worst > a->worst) {
		a->worst = c->worst;
		a->verdict = c->worst_verdict;
	}
}

/* kind < 0: the reach alone (any cell of the depth also proves it). */
static void agg_at(const struct cov_stub *s, uint64_t addr, long window,
		   int kind, int depth, struct agg *a)
{
	memset(a, 0, sizeof(*a));
	for (size_t i = first_cell(s, addr);
	     i < s->ncells && s->cells[i].addr == addr; i++) {
		const struct cov_cell *c = &s->cells[i];

		if (c->depth != depth || (window != ALL_WINDOWS &&
					  c->window != (unsigned long)window))
			continue;
		if (kind < 0 || c->kind == kind)
			add_cell(a, c);
		else
			a->reached = 1;
	}
	for (size_t i = first_reach(s, addr);
	     !a->reached && i < s->nreach && s->reach[i].addr == addr; i++)
		if (s->reach[i].depth == depth &&
		    (window == ALL_WINDOWS ||
		     s->reach[i].window == (unsigned long)window))
			a->reached = 1;
}

static char mark_of(const struct agg *a)
{
	static const char marks[COV_OUTCOME_COUNT] = {
		[COV_UNTRIED] = '.',  [COV_PASS] = '+',
		[COV_SHUTDOWN] = 's', [COV_OUTSIDE] = 'a',
		[COV_DECLARED] = 'x', [COV_UNDECLARED] = 'F',
		[COV_HARNESS] = '!',
	};

	if (a->tried)
		return a->worst < COV_OUTCOME_COUNT ? marks[a->worst] : '?';
	if (a->skipped)
		return '-';
	return a->reached ? '.' : ' ';
}

static const char *verdict_text(int verdict)
{
	return verdict >= 0 && verdict < VERDICT_KIND_COUNT
		       ? verdict_name((enum verdict_kind)verdict)
		       : "?";
}

static void add_row(struct view *v, size_t *cap, uint64_t addr,
		    const char *text, int sym_start, int region)
{
	struct row *r;

	v->rows = xgrow(v->rows, cap, v->nrows, sizeof(*v->rows));
	r = &v->rows[v->nrows++];
	memset(r, 0, sizeof(*r));
	r->addr = addr;
	image_format_addr(v->ci->img, addr, r->at, sizeof(r->at));
	snprintf(r->text, sizeof(r->text), "%s", text);
	r->sym_start = sym_start;
	r->region = region;
}

/* Decodes [from, to) restarting at every symbol start: padding between
 * functions (or data) then cannot carry a wrong length into the next
 * function, and an instruction that would straddle a symbol is shown as
 * undecodable instead of hiding the symbol's first boundary. */
static void decode_region(struct view *v, size_t *cap, uint64_t from,
			  uint64_t to, int region)
{
	const struct guest_image *img = v->ci->img;
	size_t si = 0;
	uint64_t addr = from;

	while (si < img->nsyms && img->syms[si].addr <= from)
		si++;
	while (addr < to) {
		uint64_t limit = to;
		const struct guest_symbol *sym = image_symbol_at(img, addr);
		int sym_start = addr == from || (sym && sym->addr == addr);
		uint8_t code[16];
		size_t len;
		struct insn in;

		while (si < img->nsyms && img->syms[si].addr <= addr)
			si++;
		if (si < img->nsyms && img->syms[si].addr < limit)
			limit = img->syms[si].addr;
		len = limit - addr < sizeof(code) ? (size_t)(limit - addr)
						  : sizeof(code);
		if (image_read(img, addr, code, len) == 0 &&
		    insn_decode(code, len, addr, &in) == 0 && in.len) {
			char text[112 + AT_MAX], at[AT_MAX];

			/* A direct target by name, as objdump shows it. */
			if ((in.flow == FLOW_JMP || in.flow == FLOW_JCC ||
			     in.flow == FLOW_CALL) &&
			    in.target.kind == OPND_IMM)
				snprintf(text, sizeof(text), "%s <%s>", in.text,
					 image_format_addr(
						 img, (uint64_t)in.target.imm,
						 at, sizeof(at)));
			else
				snprintf(text, sizeof(text), "%s", in.text);
			add_row(v, cap, addr, text, sym_start, region);
			addr += in.len;
		} else {
			add_row(v, cap, addr, "(bad)", sym_start, region);
			addr = limit;
		}
	}
}

static int row_cmp_addr(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The listed row at addr, or NULL. Rows of one region are sorted; regions
 * do not overlap, so a scan per region finds it. */
static const struct row *listed_row(const struct view *v, uint64_t addr)
{
	size_t lo = 0;

	while (lo < v->nlisted) {
		size_t hi = lo;
		struct row key = {.addr = addr};
		const struct row *r;

		while (hi < v->nlisted &&
		       v->rows[hi].region == v->rows[lo].region)
			hi++;
		r = bsearch(&key, &v->rows[lo], hi - lo, sizeof(*v->rows),
			    row_cmp_addr);
		if (r)
			return r;
		lo = hi;
	}
	return NULL;
}

/* Sorted distinct addresses of the map's boundaries. */
static uint64_t *map_addrs(const struct cov_stub *s, size_t *n)
{
	uint64_t *a = xcalloc(s->ncells + s->nreach, sizeof(*a));
	size_t nc = 0, nr = 0, k = 0;

	while (nc < s->ncells || nr < s->nreach) {
		uint64_t x = nr >= s->nreach || (nc < s->ncells &&
						 s->cells[nc].addr <
							 s->reach[nr].addr)
				     ? s->cells[nc].addr
				     : s->reach[nr].addr;

		while (nc < s->ncells && s->cells[nc].addr == x)
			nc++;
		while (nr < s->nreach && s->reach[nr].addr == x)
			nr++;
		a[k++] = x;
	}
	*n = k;
	return a;
}

static void view_build(const struct cov_image *ci, struct view *v)
{
	const struct cov_stub *s = ci->stub;
	const struct guest_layout *lay = ci->lay;
	size_t cap = 0, naddrs;
	uint64_t *addrs;

	memset(v, 0, sizeof(*v));
	v->ci = ci;
	decode_region(v, &cap, lay->entry_text_start, lay->entry_text_end, 0);
	for (int i = 0; i < lay->ntrace_user; i++)
		decode_region(v, &cap, lay->trace_user[i].from,
			      lay->trace_user[i].to, i + 1);
	v->nlisted = v->nrows;

	/* Every boundary of the map that the decode did not list. */
	addrs = map_addrs(s, &naddrs);
	for (size_t i = 0; i < naddrs; i++)
		if (!listed_row(v, addrs[i]))
			add_row(v, &cap, addrs[i],
				"(not an instruction start here)", 0, -1);
	free(addrs);

	for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
		v->kinds[d] = s->events[d] & (unsigned)lay->handles &
			      ((1u << EVENT_KIND_COUNT) - 1);
	/* A cell of a kind the stub does not declare (or the map did not
	 * note as swept) is still shown: a report hides nothing it holds. */
	for (size_t i = 0; i < s->ncells; i++) {
		const struct cov_cell *c = &s->cells[i];

		if (c->depth >= 1 && c->depth <= SCHEDULE_MAX_DEPTH &&
		    c->kind >= 0 && c->kind < EVENT_KIND_COUNT)
			v->kinds[c->depth - 1] |= 1u << c->kind;
	}
}

static void view_free(struct view *v)
{
	free(v->rows);
	v->rows = NULL;
}

/* --- the listing --------------------------------------------------------- */

static int label_order(const void *a, const void *b, void *windows)
{
	char(*w)[WINDOW_LABEL_MAX] = windows;

	return strcmp(w[*(const unsigned *)a], w[*(const unsigned *)b]);
}

/* The windows a boundary was met in, at any depth, joined by " | " in
 * label order; "not reached" when none. */
static void windows_at(const struct cov_stub *s, uint64_t addr, char *out,
		       size_t len)
{
	unsigned ids[64];
	size_t n = 0, used = 0;

	for (size_t i = first_reach(s, addr);
	     i < s->nreach && s->reach[i].addr == addr; i++)
		if (n < 64)
			ids[n++] = s->reach[i].window;
	for (size_t i = first_cell(s, addr);
	     i < s->ncells && s->cells[i].addr == addr; i++)
		if (n < 64)
			ids[n++] = s->cells[i].window;
	qsort_r(ids, n, sizeof(*ids), label_order, s->windows);
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && ids[i] == ids[i - 1])
			continue;
		used += (size_t)snprintf(out + used,
					 used < len ? len - used : 0, "%s%s",
					 used ? " | " : "", s->windows[ids[i]]);
		if (used >= len)
			break;
	}
	if (!out[0])
		snprintf(out, len, "not reached");
}

static int depth_prefix(int d)
{
	return snprintf(NULL, 0, "d%d:", d);
}

static int columns_width(const struct view *v)
{
	int w = 0;

	for (int d = 1; d <= SCHEDULE_MAX_DEPTH; d++) {
		int nk = __builtin_popcount(v->kinds[d - 1]);

		if (nk)
			w += 2 + depth_prefix(d) + 2 * nk - 1;
	}
	return w;
}

static void print_row(FILE *f, const struct view *v, const struct row *r,
		      int at_w, int text_w, const char *windows)
{
	const struct cov_stub *s = v->ci->stub;

	fprintf(f, "  %-*s  %-*s", at_w, r->at, text_w, r->text);
	for (int d = 1; d <= SCHEDULE_MAX_DEPTH; d++) {
		int first = 1;

		if (!v->kinds[d - 1])
			continue;
		fprintf(f, "  %*s", depth_prefix(d), "");
		for (int k = 0; k < EVENT_KIND_COUNT; k++) {
			struct agg a;

			if (!(v->kinds[d - 1] & (1u << k)))
				continue;
			agg_at(s, r->addr, ALL_WINDOWS, k, d, &a);
			fprintf(f, "%s%c", first ? "" : " ", mark_of(&a));
			first = 0;
		}
	}
	fprintf(f, "  %s\n", windows);
}

void coverage_listing(FILE *f, const struct cov_image *ci)
{
	const struct cov_stub *s = ci->stub;
	const struct guest_layout *lay = ci->lay;
	struct view v;
	int at_w = (int)strlen("boundary"), text_w = (int)strlen("instruction");
	char prev[1024] = "", cur[1024];

	view_build(ci, &v);
	for (size_t i = 0; i < v.nrows; i++) {
		int a = (int)strlen(v.rows[i].at),
		    t = (int)strlen(v.rows[i].text);

		at_w = a > at_w ? a : at_w;
		text_w = t > text_w ? t : text_w;
	}

	fprintf(f, "coverage of stub %s (image %016" PRIx64 ", %s)\n", s->name,
		s->image_hash, ci->elf_path ? ci->elf_path : "?");
	fprintf(f, "  handles:");
	for (int k = 0; k < EVENT_KIND_COUNT; k++)
		if (lay->handles & (1u << k))
			fprintf(f, " %s", event_kind_name(k));
	fprintf(f, "; swept:");
	for (int d = 1; d <= SCHEDULE_MAX_DEPTH; d++) {
		char sep = ':';

		if (!s->events[d - 1])
			continue;
		fprintf(f, " d%d", d);
		for (int k = 0; k < EVENT_KIND_COUNT; k++)
			if (s->events[d - 1] & (1u << k)) {
				fprintf(f, "%c%s", sep, event_kind_name(k));
				sep = ',';
			}
	}
	fprintf(f, "\n");
	fprintf(f, "legend (one mark per depth and event kind; over all the "
		   "windows a boundary is in, the worst):\n"
		   "  + tried, every trial passed as declared\n"
		   "  x tried, failed as the stub declares\n"
		   "  F tried, not as declared (an undeclared failure, or a "
		   "declared one that passed)\n"
		   "  a tried, failed outside a declared assumption\n"
		   "  s tried, the CPU had to shut down (nothing to judge)\n"
		   "  ! tried, harness error\n"
		   "  - enumerated, but the event cannot be tried there\n"
		   "  . reached at that depth, never tried\n"
		   "    (blank) not reached at that depth\n\n");

	fprintf(f, "  %-*s  %-*s", at_w, "boundary", text_w, "instruction");
	for (int d = 1; d <= SCHEDULE_MAX_DEPTH; d++) {
		int first = 1;

		if (!v.kinds[d - 1])
			continue;
		fprintf(f, "  d%d:", d);
		for (int k = 0; k < EVENT_KIND_COUNT; k++)
			if (v.kinds[d - 1] & (1u << k)) {
				fprintf(f, "%s%c", first ? "" : " ",
					event_kind_name(k)[0]);
				first = 0;
			}
	}
	fprintf(f, "  window\n");

	for (size_t i = 0; i < v.nrows; i++) {
		const struct row *r = &v.rows[i];
		int region_start = i == 0 || r->region != v.rows[i - 1].region;

		windows_at(s, r->addr, cur, sizeof(cur));
		if (region_start && r->region > 0)
			fprintf(f,
				"\nuser code traced (TRACE_USER "
				"0x%" PRIx64 "..0x%" PRIx64 "):\n",
				lay->trace_user[r->region - 1].from,
				lay->trace_user[r->region - 1].to);
		else if (region_start && r->region < 0)
			fprintf(f, "\nboundaries in the map that are no "
				   "instruction start of the text above:\n");
		else if (i && strcmp(prev, cur))
			fprintf(f, "  %.*s\n",
				at_w + 2 + text_w + columns_width(&v),
				"--------------------------------------------"
				"--------------------------------------------"
				"--------------------------------------------"
				"--------------------------------------------"
				"--------------------------------------------");
		if (r->sym_start) {
			const struct guest_symbol *sym =
				image_symbol_at(ci->img, r->addr);

			fprintf(f, "%s:\n", sym ? sym->name : r->at);
		}
		print_row(f, &v, r, at_w, text_w, cur);
		snprintf(prev, sizeof(prev), "%s", cur);
	}
	view_free(&v);
}

/* --- the summary --------------------------------------------------------- */

struct tally {
	size_t reached, covered, skipped;
	uint64_t trials;
	enum cov_outcome worst;
	int verdict;
};

static void tally_add(struct tally *t, const struct agg *a)
{
	if (!a->reached)
		return;
	t->reached++;
	if (a->tried)
		t->covered++;
	else if (a->skipped)
		t->skipped++;
	t->trials += a->tried;
	if (a->tried && a->worst > t->worst) {
		t->worst = a->worst;
		t->verdict = a->verdict;
	}
}

static void print_tally(FILE *f, const char *indent, int d, int k,
			const struct tally *t)
{
	char cov[48], pct[16], worst[64];

	snprintf(cov, sizeof(cov), "%zu/%zu", t->covered, t->reached);
	if (t->reached)
		snprintf(pct, sizeof(pct), "%.1f%%",
			 100.0 * (double)t->covered / (double)t->reached);
	else
		snprintf(pct, sizeof(pct), "-");
	/* "pass", not "pass (pass)": the verdict only where it says more. */
	if (t->trials &&
	    strcmp(cov_outcome_name(t->worst), verdict_text(t->verdict)))
		snprintf(worst, sizeof(worst), "%s (%s)",
			 cov_outcome_name(t->worst), verdict_text(t->verdict));
	else if (t->trials)
		snprintf(worst, sizeof(worst), "%s",
			 cov_outcome_name(t->worst));
	else
		snprintf(worst, sizeof(worst), "-");
	fprintf(f, "%sd%-4d %-6s %-15s %7s %8zu %10" PRIu64 "  %s\n", indent, d,
		event_kind_name(k), cov, pct, t->skipped, t->trials, worst);
}

/* The summary's rows of one depth, one per event kind shown, over the
 * map's boundaries in one window or all of them. */
static void print_depth(FILE *f, const char *indent, const struct view *v,
			const uint64_t *addrs, size_t naddrs, long window,
			int d)
{
	for (int k = 0; k < EVENT_KIND_COUNT; k++) {
		struct tally t = {0};

		if (!(v->kinds[d - 1] & (1u << k)))
			continue;
		for (size_t i = 0; i < naddrs; i++) {
			struct agg a;

			agg_at(v->ci->stub, addrs[i], window, k, d, &a);
			tally_add(&t, &a);
		}
		print_tally(f, indent, d, k, &t);
	}
}

static void print_header(FILE *f, const char *indent)
{
	fprintf(f, "%s%-5s %-6s %-15s %7s %8s %10s  %s\n", indent, "depth",
		"event", "covered/reached", "percent", "skipped", "trials",
		"worst");
}

/* Untried boundaries as runs of consecutive listed instructions of one
 * symbol, "sym+0x0..0x1c", at most max_ranges of them; a symbol is
 * named once for the runs in it: "sym+0x0..0x1c, +0x24". */
static void print_ranges(FILE *f, const struct view *v, const uint64_t *addrs,
			 size_t n, size_t max_ranges)
{
	size_t i = 0, ranges = 0;
	const struct guest_symbol *prev = NULL;

	while (i < n) {
		const struct row *r = listed_row(v, addrs[i]);
		const struct guest_symbol *sym =
			image_symbol_at(v->ci->img, addrs[i]);
		size_t j = i + 1;
		char at[AT_MAX];

		if (ranges == max_ranges) {
			fprintf(f, ", ... and %zu more", n - i);
			return;
		}
		/* Extend while the next untried boundary is the very next
		 * listed instruction, in the same symbol. */
		while (r && j < n && (size_t)(r - v->rows) + 1 < v->nlisted &&
		       r[1].addr == addrs[j] && !r[1].sym_start &&
		       image_symbol_at(v->ci->img, addrs[j]) == sym) {
			r++;
			j++;
		}
		if (sym && sym == prev)
			snprintf(at, sizeof(at), "+0x%" PRIx64,
				 addrs[i] - sym->addr);
		else
			image_format_addr(v->ci->img, addrs[i], at, sizeof(at));
		prev = sym;
		fprintf(f, "%s%s", ranges ? ", " : " ", at);
		if (j - i > 1) {
			if (sym)
				fprintf(f, "..0x%" PRIx64,
					addrs[j - 1] - sym->addr);
			else
				fprintf(f, "..0x%" PRIx64, addrs[j - 1]);
		}
		ranges++;
		i = j;
	}
}

/* Reached (boundary, event, depth) combinations of a window with no trial
 * and no skip, one line per depth and set of event kinds that share the
 * same untried boundaries. Past *lines_left lines they are only counted,
 * into *hidden. */
static void print_untried(FILE *f, const struct view *v, unsigned w,
			  const uint64_t *addrs, size_t naddrs,
			  size_t *lines_left, size_t *hidden)
{
	const struct cov_stub *s = v->ci->stub;
	uint64_t *set[EVENT_KIND_COUNT];
	size_t nset[EVENT_KIND_COUNT];
	int header = 0;

	for (int k = 0; k < EVENT_KIND_COUNT; k++)
		set[k] = xcalloc(naddrs, sizeof(**set));
	for (int d = 1; d <= SCHEDULE_MAX_DEPTH; d++) {
		unsigned done = 0;

		for (int k = 0; k < EVENT_KIND_COUNT; k++) {
			nset[k] = 0;
			if (!(v->kinds[d - 1] & (1u << k)))
				continue;
			for (size_t i = 0; i < naddrs; i++) {
				struct agg a;

				agg_at(s, addrs[i], (long)w, k, d, &a);
				if (a.reached && !a.tried && !a.skipped)
					set[k][nset[k]++] = addrs[i];
			}
		}
		for (int k = 0; k < EVENT_KIND_COUNT; k++) {
			if (!nset[k] || (done & (1u << k)))
				continue;
			if (!*lines_left) {
				*hidden += nset[k];
				done |= 1u << k;
				continue;
			}
			if (!header)
				fprintf(f, "  %s:\n", s->windows[w]);
			header = 1;
			fprintf(f, "    d%d %s", d, event_kind_name(k));
			done |= 1u << k;
			for (int j = k + 1; j < EVENT_KIND_COUNT; j++)
				if (nset[j] == nset[k] && !(done & (1u << j)) &&
				    !memcmp(set[j], set[k],
					    nset[k] * sizeof(**set))) {
					fprintf(f, ",%s", event_kind_name(j));
					done |= 1u << j;
				}
			fprintf(f, ":");
			print_ranges(f, v, set[k], nset[k], UNTRIED_MAX_RANGES);
			fprintf(f, "\n");
			(*lines_left)--;
		}
	}
	for (int k = 0; k < EVENT_KIND_COUNT; k++)
		free(set[k]);
}

void coverage_summary(FILE *f, const struct cov_image *ci)
{
	const struct cov_stub *s = ci->stub;
	struct view v;
	size_t naddrs, lines_left = UNTRIED_MAX_LINES, hidden = 0;
	uint64_t *addrs = map_addrs(s, &naddrs);
	unsigned *order = xcalloc(s->nwindows, sizeof(*order));
	uint64_t trials = 0;
	int any = 0;

	view_build(ci, &v);
	for (size_t i = 0; i < s->ncells; i++)
		trials += s->cells[i].tried;
	fprintf(f,
		"summary of stub %s: %zu instructions in its traced text, %zu "
		"boundaries in the map, %" PRIu64 " trials\n",
		s->name, v.nlisted, naddrs, trials);
	fprintf(f, "  (covered: tried at least once; percent of reached; "
		   "skipped: enumerated, cannot be tried there)\n");
	print_header(f, "  ");
	for (int d = 1; d <= SCHEDULE_MAX_DEPTH; d++)
		print_depth(f, "  ", &v, addrs, naddrs, ALL_WINDOWS, d);

	for (unsigned w = 0; w < s->nwindows; w++)
		order[w] = w;
	qsort_r(order, s->nwindows, sizeof(*order), label_order, s->windows);
	fprintf(f, "per window:\n");
	for (size_t wi = 0; wi < s->nwindows; wi++) {
		unsigned w = order[wi];

		fprintf(f, "  window %s\n", s->windows[w]);
		print_header(f, "    ");
		for (int d = 1; d <= SCHEDULE_MAX_DEPTH; d++) {
			struct tally seen = {0};

			/* Depths the window was never met at say nothing. */
			for (size_t i = 0; i < naddrs && !seen.reached; i++) {
				struct agg a;

				agg_at(s, addrs[i], (long)w, -1, d, &a);
				tally_add(&seen, &a);
			}
			if (seen.reached)
				print_depth(f, "    ", &v, addrs, naddrs,
					    (long)w, d);
		}
	}

	fprintf(f, "untried (reached, never tried, not skipped; by window, "
		   "depth and event):\n");
	for (size_t wi = 0; wi < s->nwindows; wi++) {
		size_t before = lines_left;

		print_untried(f, &v, order[wi], addrs, naddrs, &lines_left,
			      &hidden);
		any |= before != lines_left;
	}
	if (hidden)
		fprintf(f, "  ... and %zu more\n", hidden);
	else if (!any)
		fprintf(f, "  none\n");
	free(order);
	free(addrs);
	view_free(&v);
}

/* --- source lines (addr2line) -------------------------------------------- */

struct srcline {
	char *file; /* NULL: no line information */
	unsigned line;
};

/* Maps each address to file:line with one addr2line run over them all:
 * the addresses go in on its stdin (no argument list to outgrow) and
 * its answers, one line each in order, come back through a file, so
 * neither side can block on a full pipe. */
static int addr2line(const char *elf, const uint64_t *addrs, size_t n,
		     struct srcline *out, char *err, size_t errlen)
{
	FILE *in = tmpfile(), *res = tmpfile();
	char *argv[] = {"addr2line", "-e", (char *)elf, NULL};
	char *line = NULL, why[64];
	size_t cap = 0, i = 0;
	int status, rc = -1;

	memset(out, 0, n * sizeof(*out));
	if (!in || !res) {
		snprintf(err, errlen, "cannot make a temporary file: %s",
			 strerror(errno));
		goto done;
	}
	for (size_t k = 0; k < n; k++)
		fprintf(in, "0x%" PRIx64 "\n", addrs[k]);
	if (fflush(in) || fseek(in, 0, SEEK_SET)) {
		snprintf(err, errlen, "cannot write a temporary file: %s",
			 strerror(errno));
		goto done;
	}
	status = subprocess_run(argv, fileno(in), fileno(res));
	if (status < 0 && errno == ENOENT) {
		snprintf(err, errlen,
			 "addr2line not found: apt-get install binutils");
		goto done;
	}
	if (status < 0) {
		snprintf(err, errlen, "cannot run addr2line: %s",
			 strerror(errno));
		goto done;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		subprocess_describe(why, sizeof(why), status);
		snprintf(err, errlen,
			 "addr2line -e %s failed (%s): is it the stub's ELF?",
			 elf, why);
		goto done;
	}
	rewind(res);
	for (; i < n && getline(&line, &cap, res) > 0; i++) {
		char *colon, *end;
		unsigned long ln;

		/* "file:line", maybe " (discriminator N)"; "??:0" or
		 * "??:?" where the ELF has no line for it. */
		line[strcspn(line, "\n")] = 0;
		if ((end = strstr(line, " (discriminator")))
			*end = 0;
		colon = strrchr(line, ':');
		if (!colon || colon == line || !strncmp(line, "??", 2))
			continue;
		ln = strtoul(colon + 1, &end, 10);
		if (*end || !ln || ln > 0xffffffffu)
			continue;
		*colon = 0;
		out[i].file = xstrdup(line);
		out[i].line = (unsigned)ln;
	}
	if (i != n) {
		snprintf(err, errlen,
			 "addr2line -e %s answered %zu of %zu addresses", elf,
			 i, n);
		goto done;
	}
	rc = 0;
done:
	if (rc)
		for (size_t k = 0; k < n; k++) {
			free(out[k].file);
			out[k].file = NULL;
		}
	free(line);
	if (in)
		fclose(in);
	if (res)
		fclose(res);
	return rc;
}

/* --- lcov ---------------------------------------------------------------- */

#define NBRANCH (SCHEDULE_MAX_DEPTH * EVENT_KIND_COUNT)
#define BR_NONE (-2) /* no branch: not reached at that depth, or not swept */
#define BR_DASH (-1) /* reached, never tried: "-" */

/* One boundary with a source line. */
struct lrec {
	const char *file; /* owned by the srcline arrays */
	unsigned line;
	size_t stub; /* index into the caller's cov_image array */
	uint64_t addr;
	uint64_t trials;
	int64_t br[NBRANCH];
	char fn[64 + AT_MAX]; /* "stub:symbol" when a symbol starts here */
	uint64_t fn_trials;
};

static int lrec_cmp(const void *a, const void *b)
{
	const struct lrec *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->stub != y->stub)
		return x->stub < y->stub ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static uint64_t trials_at(const struct cov_stub *s, uint64_t addr)
{
	uint64_t t = 0;

	for (size_t i = first_cell(s, addr);
	     i < s->ncells && s->cells[i].addr == addr; i++)
		t += s->cells[i].tried;
	return t;
}

/* Adds a stub's boundaries with a source line to *recs. */
static int lcov_collect(const struct cov_image *ci, size_t stub,
			struct lrec **recs, size_t *nrecs, size_t *cap,
			struct srcline **lines, size_t *nlines, char *err,
			size_t errlen)
{
	const struct cov_stub *s = ci->stub;
	struct view v;
	uint64_t *addrs;
	size_t fn_row = (size_t)-1;

	view_build(ci, &v);
	addrs = xcalloc(v.nrows, sizeof(*addrs));
	*lines = xcalloc(v.nrows, sizeof(**lines));
	*nlines = v.nrows;
	for (size_t i = 0; i < v.nrows; i++)
		addrs[i] = v.rows[i].addr;
	if (v.nrows &&
	    addr2line(ci->elf_path, addrs, v.nrows, *lines, err, errlen)) {
		free(addrs);
		view_free(&v);
		return -1;
	}
	for (size_t i = 0; i < v.nrows; i++) {
		const struct row *r = &v.rows[i];
		struct lrec *e;

		/* A function's trials: every boundary from its start to the
		 * next symbol's, wherever their lines are. */
		if (r->sym_start || r->region < 0)
			fn_row = (size_t)-1;
		if (!(*lines)[i].file) {
			if (fn_row != (size_t)-1)
				(*recs)[fn_row].fn_trials +=
					trials_at(s, r->addr);
			continue;
		}
		*recs = xgrow(*recs, cap, *nrecs, sizeof(**recs));
		e = &(*recs)[(*nrecs)++];
		memset(e, 0, sizeof(*e));
		e->file = (*lines)[i].file;
		e->line = (*lines)[i].line;
		e->stub = stub;
		e->addr = r->addr;
		e->trials = trials_at(s, r->addr);
		for (int d = 1; d <= SCHEDULE_MAX_DEPTH; d++)
			for (int k = 0; k < EVENT_KIND_COUNT; k++) {
				int64_t *b =
					&e->br[(d - 1) * EVENT_KIND_COUNT + k];
				struct agg a;

				*b = BR_NONE;
				if (!(v.kinds[d - 1] & (1u << k)))
					continue;
				agg_at(s, r->addr, ALL_WINDOWS, k, d, &a);
				if (a.tried)
					*b = (int64_t)a.tried;
				else if (a.skipped)
					*b = 0;
				else if (a.reached)
					*b = BR_DASH;
			}
		if (r->sym_start && r->region >= 0) {
			const struct guest_symbol *sym =
				image_symbol_at(ci->img, r->addr);

			snprintf(e->fn, sizeof(e->fn), "%s:%s", s->name,
				 sym ? sym->name : r->at);
			/* genhtml reads a name up to the next comma. */
			for (char *c = e->fn; *c; c++)
				if (*c == ',')
					*c = '_';
			fn_row = *nrecs - 1;
		}
		if (fn_row != (size_t)-1)
			(*recs)[fn_row].fn_trials += e->trials;
	}
	free(addrs);
	view_free(&v);
	return 0;
}

/* One SF record per source file, whichever stubs it serves: the shared
 * .inc files (the SYSCALL entry several stubs include) then read as one
 * page whose line counts add up over the stubs. genhtml would merge
 * records of one file under different TNs the same way for lines, but it
 * would also add up branches with the same (line, block, branch), mixing
 * two stubs' boundaries into one marker; numbering the blocks of a line
 * over all the stubs keeps each boundary of each stub its own marker.
 *
 *   DA:line,count     count = trials run at the line's boundaries (a line
 *                     of several instructions, as a macro invocation is,
 *                     adds them up); 0 where reached but untried or never
 *                     reached
 *   BRDA:line,block,branch,taken
 *                     block  = the boundary's index among the line's
 *                              boundaries (stubs in the order given, then
 *                              by address)
 *                     branch = (depth - 1) * 4 + event kind (nmi 0, db 1,
 *                              mc 2, irq 3): d1 nmi = 0, d2 db = 5
 *                     taken  = trials; "-" reached at that depth and
 *                              never tried; 0 enumerated but skipped (the
 *                              event cannot be tried there). No branch
 *                              where the boundary was not reached at that
 *                              depth: it is not a combination to try.
 *   FN/FNDA           "stub:symbol" at its first instruction's line,
 *                     with the trials in the symbol
 */
static void lcov_emit(FILE *f, const struct lrec *recs, size_t n)
{
	size_t i = 0;

	fprintf(f, "TN:ist_torture\n");
	while (i < n) {
		size_t j = i, lf = 0, lh = 0, brf = 0, brh = 0, fnf = 0,
		       fnh = 0;

		while (j < n && !strcmp(recs[j].file, recs[i].file))
			j++;
		fprintf(f, "SF:%s\n", recs[i].file);
		for (size_t k = i; k < j; k++)
			if (recs[k].fn[0])
				fprintf(f, "FN:%u,%s\n", recs[k].line,
					recs[k].fn);
		for (size_t k = i; k < j; k++)
			if (recs[k].fn[0]) {
				fprintf(f, "FNDA:%" PRIu64 ",%s\n",
					recs[k].fn_trials, recs[k].fn);
				fnf++;
				fnh += recs[k].fn_trials != 0;
			}
		fprintf(f, "FNF:%zu\nFNH:%zu\n", fnf, fnh);
		for (size_t k = i; k < j;) {
			size_t e = k;
			unsigned block = 0;

			while (e < j && recs[e].line == recs[k].line)
				e++;
			for (size_t b = k; b < e; b++, block++)
				for (int br = 0; br < NBRANCH; br++) {
					int64_t t = recs[b].br[br];

					if (t == BR_NONE)
						continue;
					brf++;
					brh += t > 0;
					if (t == BR_DASH)
						fprintf(f, "BRDA:%u,%u,%d,-\n",
							recs[k].line, block,
							br);
					else
						fprintf(f,
							"BRDA:%u,%u,%d,%" PRId64
							"\n",
							recs[k].line, block, br,
							t);
				}
			k = e;
		}
		fprintf(f, "BRF:%zu\nBRH:%zu\n", brf, brh);
		for (size_t k = i; k < j;) {
			size_t e = k;
			uint64_t count = 0;

			while (e < j && recs[e].line == recs[k].line)
				count += recs[e++].trials;
			fprintf(f, "DA:%u,%" PRIu64 "\n", recs[k].line, count);
			lf++;
			lh += count != 0;
			k = e;
		}
		fprintf(f, "LF:%zu\nLH:%zu\nend_of_record\n", lf, lh);
		i = j;
	}
}

int coverage_write_lcov(const char *path, const struct cov_image *ci, size_t n,
			char *err, size_t errlen)
{
	struct srcline **lines = xcalloc(n, sizeof(*lines));
	size_t *nlines = xcalloc(n, sizeof(*nlines));
	struct lrec *recs = NULL;
	size_t nrecs = 0, cap = 0;
	struct atomic_file a;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		size_t before = nrecs;

		if (lcov_collect(&ci[i], i, &recs, &nrecs, &cap, &lines[i],
				 &nlines[i], err, errlen))
			goto done;
		if (nrecs == before && nlines[i]) {
			snprintf(err, errlen,
				 "%s has no line information for its entry "
				 "text: build it with -g",
				 ci[i].elf_path);
			goto done;
		}
	}
	qsort(recs, nrecs, sizeof(*recs), lrec_cmp);
	if (!atomic_open(&a, path, err, errlen))
		goto done;
	lcov_emit(a.f, recs, nrecs);
	rc = atomic_commit(&a, err, errlen);
done:
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; lines[i] && k < nlines[i]; k++)
			free(lines[i][k].file);
		free(lines[i]);
	}
	free(lines);
	free(nlines);
	free(recs);
	return rc;
}

int coverage_render_html(const char *lcov_path, const char *dir, char *err,
			 size_t errlen)
{
	char *argv[] = {"genhtml",   "--branch-coverage", "--quiet", "-o",
			(char *)dir, (char *)lcov_path,	  NULL};
	char why[64];
	int status;

	status = subprocess_run(argv, -1, -1);
	if (status < 0 && errno == ENOENT) {
		snprintf(err, errlen,
			 "genhtml not found: apt-get install lcov");
		return -1;
	}
	if (status < 0) {
		snprintf(err, errlen, "cannot run genhtml: %s",
			 strerror(errno));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		subprocess_describe(why, sizeof(why), status);
		snprintf(err, errlen,
			 "genhtml failed (%s) on %s into %s: see its message "
			 "above",
			 why, lcov_path, dir);
		return -1;
	}
	return 0;
}

/* --- JSON ---------------------------------------------------------------- */

/* The i-th object of the cells or reach array, opened with what both
 * kinds of record say: the boundary, and the window it was met in. */
static void json_record(FILE *f, const struct cov_image *ci, size_t i,
			uint64_t addr, unsigned window)
{
	const struct cov_stub *s = ci->stub;
	char at[AT_MAX];

	fprintf(f, "%s\n{\"addr\":\"0x%" PRIx64 "\",\"at\":", i ? "," : "",
		addr);
	json_string(f, image_format_addr(ci->img, addr, at, sizeof(at)));
	fprintf(f, ",\"window\":");
	json_string(f, window < s->nwindows ? s->windows[window] : "");
}

static void json_stub(FILE *f, const struct cov_image *ci)
{
	const struct cov_stub *s = ci->stub;
	int maxd = 0;

	for (int d = 1; d <= SCHEDULE_MAX_DEPTH; d++)
		if (s->events[d - 1])
			maxd = d;
	fprintf(f, "{\"name\":");
	json_string(f, s->name);
	fprintf(f, ",\"image_hash\":\"%016" PRIx64 "\",\"events\":[",
		s->image_hash);
	for (int d = 1; d <= maxd; d++) {
		int first = 1;

		fprintf(f, "%s[", d > 1 ? "," : "");
		for (int k = 0; k < EVENT_KIND_COUNT; k++)
			if (s->events[d - 1] & (1u << k)) {
				fprintf(f, "%s", first ? "" : ",");
				json_string(f, event_kind_name(k));
				first = 0;
			}
		fprintf(f, "]");
	}
	fprintf(f, "],\n\"windows\":[");
	for (size_t w = 0; w < s->nwindows; w++) {
		fprintf(f, "%s", w ? "," : "");
		json_string(f, s->windows[w]);
	}
	fprintf(f, "],\n\"cells\":[");
	for (size_t i = 0; i < s->ncells; i++) {
		const struct cov_cell *c = &s->cells[i];

		json_record(f, ci, i, c->addr, c->window);
		fprintf(f, ",\"event\":");
		json_string(f, event_kind_name(c->kind));
		fprintf(f,
			",\"depth\":%d,\"tried\":%" PRIu64
			",\"skipped\":%" PRIu64 ",\"worst\":",
			c->depth, c->tried, c->skipped);
		json_string(f, cov_outcome_name(c->worst));
		fprintf(f, ",\"worst_verdict\":");
		/* A cell only skipped has no verdict: null, not "pass". */
		if (c->tried)
			json_string(f, verdict_text(c->worst_verdict));
		else
			fprintf(f, "null");
		fprintf(f, "}");
	}
	fprintf(f, "],\n\"reach\":[");
	for (size_t i = 0; i < s->nreach; i++) {
		const struct cov_reach *r = &s->reach[i];

		json_record(f, ci, i, r->addr, r->window);
		fprintf(f, ",\"depth\":%d}", r->depth);
	}
	fprintf(f, "]}");
}

int coverage_write_json(const char *path, const struct cov_image *ci, size_t n,
			char *err, size_t errlen)
{
	struct atomic_file a;

	if (!atomic_open(&a, path, err, errlen))
		return -1;
	fprintf(a.f, "{\"version\":1,\"stubs\":[");
	for (size_t i = 0; i < n; i++) {
		fprintf(a.f, "%s\n", i ? "," : "");
		json_stub(a.f, &ci[i]);
	}
	fprintf(a.f, "]}\n");
	return atomic_commit(&a, err, errlen);
}
