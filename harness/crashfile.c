#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../injectors/injector.h"
#include "atomic_file.h"
#include "crashfile.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

/* The guest as it runs: its loaded segments, where they go and what they
 * hold. Not the file: its debug information names the build directory. */
uint64_t crash_image_hash(const struct guest_image *img)
{
	uint64_t h = FNV_OFFSET;

	for (size_t i = 0; i < img->nsegs; i++) {
		const struct guest_segment *sg = &img->segs[i];
		uint64_t where[3] = {sg->vaddr, sg->paddr, sg->memsz};

		h = fnv1a(h, where, sizeof(where));
		h = fnv1a(h, sg->data, sg->filesz);
	}
	return h;
}

static const char *symbol_name(const struct guest_image *img, uint64_t addr)
{
	const struct guest_symbol *sym = image_symbol_at(img, addr);

	return sym ? sym->name : "?";
}

void crash_signature(const char *stub, const struct guest_image *img,
		     const struct schedule *s, const struct verdict *v,
		     char out[17])
{
	const struct schedule_step *last = &s->step[s->depth - 1];
	uint64_t landed =
		last->delivered_addr ? last->delivered_addr : last->addr;
	const char *kind = verdict_name(v->kind);
	const char *window = symbol_name(img, landed);
	uint64_t h = FNV_OFFSET;

	h = fnv1a(h, stub, strlen(stub) + 1);
	h = fnv1a(h, kind, strlen(kind) + 1);
	h = fnv1a(h, window, strlen(window) + 1);
	for (int i = 0; i < v->ndiffs; i++)
		h = fnv1a(h, v->diffs[i].field, strlen(v->diffs[i].field) + 1);
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* --- writing ------------------------------------------------------------ */

static void write_step(FILE *f, const struct guest_image *img,
		       const struct schedule_step *st)
{
	char at[160], a[160], b[160];

	image_format_addr(img, st->addr, at, sizeof(at));
	fprintf(f, "step %s %s %u", injector_for(st->inj.kind)->name, at,
		st->exec);
	if (st->inj.kind == EVENT_DB && st->inj.db_cause == DB_DATA_BREAKPOINT)
		fprintf(f, " data %s %s",
			image_format_addr(img, st->inj.db_watch_addr, a,
					  sizeof(a)),
			image_format_addr(img, st->inj.db_watch_from, b,
					  sizeof(b)));
	if (st->inj.kind == EVENT_MC)
		fprintf(f, " 0x%llx 0x%llx 0x%llx 0x%llx",
			(unsigned long long)st->inj.mc_status,
			(unsigned long long)st->inj.mc_addr,
			(unsigned long long)st->inj.mc_misc,
			(unsigned long long)st->inj.mcg_status);
	fprintf(f, "\n");
}

static void write_crash(FILE *f, const char *stub,
			const struct guest_image *img, uint64_t seed,
			int db_by_guest_dr, const struct schedule *s,
			const struct verdict *v, const char *signature)
{
	fprintf(f, "# ist-torture crash file (docs/crash-format.md).\n"
		   "# Replay: ist-torture replay FILE\n");
	fprintf(f, "ist-torture-crash %d\n", CRASH_VERSION);
	fprintf(f, "stub %s\n", stub);
	fprintf(f, "image fnv1a64:%016llx\n",
		(unsigned long long)crash_image_hash(img));
	fprintf(f, "seed 0x%llx\n", (unsigned long long)seed);
	fprintf(f, "db-method %s\n", db_by_guest_dr ? "dr" : "payload");
	fprintf(f, "# The schedule, outermost first: event, the boundary where "
		   "it is raised,\n# which execution of it.\n");
	for (int k = 0; k < s->depth; k++)
		write_step(f, img, &s->step[k]);
	fprintf(f, "verdict %s\n", verdict_name(v->kind));
	fprintf(f, "signature %s\n", signature);
	fprintf(f, "summary %s\n", v->summary);
	fprintf(f, "# Field by field: expected, observed, field.\n");
	for (int i = 0; i < v->ndiffs; i++)
		fprintf(f, "diff 0x%016llx 0x%016llx %s\n",
			(unsigned long long)v->diffs[i].expected,
			(unsigned long long)v->diffs[i].observed,
			v->diffs[i].field);
}

int crash_write_file(const char *path, const char *stub,
		     const struct guest_image *img, uint64_t seed,
		     int db_by_guest_dr, const struct schedule *s,
		     const struct verdict *v, char *err, size_t errlen)
{
	struct atomic_file a;
	char signature[17];
	FILE *f = atomic_open(&a, path, err, errlen);

	if (!f)
		return -1;
	crash_signature(stub, img, s, v, signature);
	write_crash(f, stub, img, seed, db_by_guest_dr, s, v, signature);
	return atomic_commit(&a, err, errlen);
}

int crash_write(const char *dir, const char *stub,
		const struct guest_image *img, uint64_t seed,
		int db_by_guest_dr, const struct schedule *s,
		const struct verdict *v, char *path, size_t pathlen, char *err,
		size_t errlen)
{
	char signature[17];

	crash_signature(stub, img, s, v, signature);
	snprintf(path, pathlen, "%s/%s-%s-%s.crash", dir, stub,
		 verdict_name(v->kind), signature);
	if (access(path, F_OK) == 0)
		return 1;
	if (mkdir(dir, 0777) && errno != EEXIST) {
		snprintf(err, errlen, "cannot make %s for crash files: %s", dir,
			 strerror(errno));
		return -1;
	}
	return crash_write_file(path, stub, img, seed, db_by_guest_dr, s, v,
				err, errlen);
}

/* --- reading ------------------------------------------------------------ */

struct reader {
	const char *path;
	int line;
	char *err;
	size_t errlen;
};

static int bad(struct reader *r, const char *fmt, ...)
{
	char what[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r->line)
		snprintf(r->err, r->errlen, "%s:%d: %s", r->path, r->line,
			 what);
	else
		snprintf(r->err, r->errlen, "%s: %s", r->path, what);
	return -1;
}

static int parse_u64(const char *text, uint64_t *out)
{
	char *end;

	if (!*text || *text == '-')
		return -1;
	errno = 0;
	*out = strtoull(text, &end, 0);
	return errno || *end ? -1 : 0;
}

/* Splits line into at most max space-separated words; the last one takes
 * the rest of the line when rest is set. Returns how many. */
static int split(char *line, char **words, int max, int rest)
{
	int n = 0;

	while (*line && n < max) {
		while (*line == ' ')
			line++;
		if (!*line)
			break;
		words[n++] = line;
		if (rest && n == max)
			break;
		while (*line && *line != ' ')
			line++;
		if (*line)
			*line++ = 0;
	}
	return n;
}

static int copy_word(struct reader *r, char *dst, size_t len, const char *w,
		     const char *what)
{
	if (strlen(w) >= len)
		return bad(r, "%s '%.40s...' is too long", what, w);
	strcpy(dst, w);
	return 0;
}

static int parse_step(struct reader *r, struct crash *c, char **w, int n)
{
	struct crash_step *st;
	uint64_t exec;

	if (c->depth == SCHEDULE_MAX_DEPTH)
		return bad(r, "more than %d steps", SCHEDULE_MAX_DEPTH);
	if (n < 4)
		return bad(r, "a step is 'step EVENT BOUNDARY EXECUTION ...'");
	st = &c->step[c->depth];
	memset(st, 0, sizeof(*st));
	st->line = r->line;
	if (!injector_by_name(w[1]))
		return bad(r, "unknown event '%.40s' (known: %s)", w[1],
			   injector_names());
	snprintf(st->kind, sizeof(st->kind), "%s", w[1]);
	if (copy_word(r, st->at, sizeof(st->at), w[2], "boundary"))
		return -1;
	if (parse_u64(w[3], &exec) || exec < 1 || exec > 1000000)
		return bad(r, "execution '%.40s' is not a count from 1", w[3]);
	st->exec = (unsigned)exec;
	if (!strcmp(st->kind, "db") && n == 7 && !strcmp(w[4], "data")) {
		st->data = 1;
		if (copy_word(r, st->watch, sizeof(st->watch), w[5],
			      "watched address") ||
		    copy_word(r, st->from, sizeof(st->from), w[6],
			      "MOV SS boundary"))
			return -1;
	} else if (!strcmp(st->kind, "mc") && n == 8) {
		for (int i = 0; i < 4; i++)
			if (parse_u64(w[4 + i], &st->mc[i]))
				return bad(r,
					   "#MC parameter '%.40s' is not "
					   "a number",
					   w[4 + i]);
	} else if (n != 4 && !(!strcmp(st->kind, "mc") && n == 4)) {
		return bad(r, "unexpected parameters for a %s step", st->kind);
	}
	if (!strcmp(st->kind, "mc") && n == 4) {
		struct injection def;

		injection_default(&def, EVENT_MC);
		st->mc[0] = def.mc_status;
		st->mc[1] = def.mc_addr;
		st->mc[2] = def.mc_misc;
		st->mc[3] = def.mcg_status;
	}
	c->depth++;
	return 0;
}

static int parse_verdict(struct reader *r, const char *name,
			 enum verdict_kind *out)
{
	for (int k = 0; k < VERDICT_KIND_COUNT; k++)
		if (!strcmp(verdict_name((enum verdict_kind)k), name)) {
			*out = (enum verdict_kind)k;
			return 0;
		}
	return bad(r, "unknown verdict '%.40s'", name);
}

static int parse_line(struct reader *r, struct crash *c, char *line,
		      unsigned *seen)
{
	char *w[8] = {0};
	int n = split(line, w, 8, 0);

	if (n == 0)
		return 0;
	if (!strcmp(w[0], "stub") && n == 2) {
		*seen |= 1;
		return copy_word(r, c->stub, sizeof(c->stub), w[1], "stub");
	}
	if (!strcmp(w[0], "image") && n == 2) {
		*seen |= 2;
		if (strncmp(w[1], "fnv1a64:", 8) || strlen(w[1]) != 24 ||
		    strspn(w[1] + 8, "0123456789abcdef") != 16)
			return bad(r, "image is 'fnv1a64:' and 16 hex digits");
		c->image_hash = strtoull(w[1] + 8, NULL, 16);
		return 0;
	}
	if (!strcmp(w[0], "seed") && n == 2) {
		*seen |= 4;
		if (parse_u64(w[1], &c->seed))
			return bad(r, "seed '%.40s' is not a number", w[1]);
		return 0;
	}
	if (!strcmp(w[0], "db-method") && n == 2) {
		if (strcmp(w[1], "dr") && strcmp(w[1], "payload"))
			return bad(r, "db-method is dr or payload");
		c->db_by_guest_dr = !strcmp(w[1], "dr");
		return 0;
	}
	if (!strcmp(w[0], "step"))
		return parse_step(r, c, w, n);
	if (!strcmp(w[0], "verdict") && n == 2) {
		*seen |= 8;
		return parse_verdict(r, w[1], &c->verdict);
	}
	if (!strcmp(w[0], "signature") && n == 2) {
		if (strlen(w[1]) != 16 ||
		    strspn(w[1], "0123456789abcdef") != 16)
			return bad(r, "signature is 16 hex digits");
		strcpy(c->signature, w[1]);
		return 0;
	}
	/* Free text, for the reader: checked for shape only. */
	if (!strcmp(w[0], "summary"))
		return 0;
	if (!strcmp(w[0], "diff") && n >= 4) {
		uint64_t e, o;
		if (parse_u64(w[1], &e) || parse_u64(w[2], &o))
			return bad(r, "a diff is 'diff EXPECTED OBSERVED "
				      "FIELD'");
		return 0;
	}
	return bad(r, "unknown line '%.40s'", w[0]);
}

int crash_parse(const char *path, struct crash *c, char *err, size_t errlen)
{
	struct reader r = {path, 0, err, errlen};
	FILE *f = fopen(path, "r");

	if (!f) {
		memset(c, 0, sizeof(*c));
		return bad(&r, "cannot read: %s", strerror(errno));
	}
	return crash_parse_stream(path, f, c, err, errlen);
}

int crash_parse_stream(const char *path, FILE *f, struct crash *c, char *err,
		       size_t errlen)
{
	struct reader r = {path, 0, err, errlen};
	unsigned seen = 0;
	int version_read = 0;
	char line[1024];

	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", path);
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		r.line++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			fclose(f);
			return bad(&r, "line longer than %zu bytes",
				   sizeof(line) - 2);
		}
		if (len && line[len - 1] != '\n' && feof(f)) {
			fclose(f);
			return bad(&r, "the line is cut off: the file is "
				       "truncated");
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)line[i] < 0x20 && line[i] != '\t') {
				fclose(f);
				return bad(&r, "not text (byte 0x%02x)",
					   (unsigned char)line[i]);
			}
		for (size_t i = 0; i < len; i++)
			if (line[i] == '\t')
				line[i] = ' ';
		if (!len || line[strspn(line, " ")] == '#' ||
		    !line[strspn(line, " ")])
			continue;
		if (!version_read) {
			char *w[3];
			uint64_t v;

			if (split(line, w, 3, 0) != 2 ||
			    strcmp(w[0], "ist-torture-crash") ||
			    parse_u64(w[1], &v)) {
				fclose(f);
				return bad(&r,
					   "not a crash file: it must "
					   "start with "
					   "'ist-torture-crash %d'",
					   CRASH_VERSION);
			}
			if (v != CRASH_VERSION) {
				fclose(f);
				return bad(&r,
					   "crash file version %llu; this "
					   "ist-torture reads version %d",
					   (unsigned long long)v,
					   CRASH_VERSION);
			}
			version_read = 1;
			continue;
		}
		if (parse_line(&r, c, line, &seen)) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	r.line = 0;
	if (!version_read)
		return bad(&r, "empty: not a crash file");
	if (!(seen & 1))
		return bad(&r, "no 'stub' line (truncated?)");
	if (!(seen & 2))
		return bad(&r, "no 'image' line (truncated?)");
	if (!(seen & 4))
		return bad(&r, "no 'seed' line (truncated?)");
	if (!c->depth)
		return bad(&r, "no 'step' line (truncated?)");
	if (!(seen & 8))
		return bad(&r, "no 'verdict' line (truncated?)");
	return 0;
}

static int resolve(const struct guest_image *img, const struct crash *c,
		   const struct crash_step *st, const char *name,
		   uint64_t *addr, char *err, size_t errlen)
{
	if (image_parse_addr(img, name, addr) == 0)
		return 0;
	snprintf(err, errlen,
		 "%s:%d: stub %s has no '%s' (it changed since the file was "
		 "written?)",
		 c->path, st->line, c->stub, name);
	return -1;
}

int crash_resolve(const struct crash *c, const struct guest_image *img,
		  struct schedule *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->depth = c->depth;
	for (int k = 0; k < c->depth; k++) {
		const struct crash_step *cs = &c->step[k];
		struct schedule_step *st = &s->step[k];
		const struct injector *inj = injector_by_name(cs->kind);

		injection_default(&st->inj, inj->kind);
		st->inj.db_method =
			c->db_by_guest_dr ? DB_BY_GUEST_DR : DB_BY_PAYLOAD;
		st->exec = cs->exec;
		if (resolve(img, c, cs, cs->at, &st->addr, err, errlen))
			return -1;
		if (cs->data) {
			st->inj.db_cause = DB_DATA_BREAKPOINT;
			st->inj.db_held = 1;
			if (resolve(img, c, cs, cs->watch,
				    &st->inj.db_watch_addr, err, errlen) ||
			    resolve(img, c, cs, cs->from,
				    &st->inj.db_watch_from, err, errlen))
				return -1;
		}
		if (inj->kind == EVENT_MC) {
			st->inj.mc_status = cs->mc[0];
			st->inj.mc_addr = cs->mc[1];
			st->inj.mc_misc = cs->mc[2];
			st->inj.mcg_status = cs->mc[3];
		}
	}
	return 0;
}
