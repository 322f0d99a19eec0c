/* The coverage report (harness/coverage_report.c) on a hand-made map of
 * naive-ist, no back end needed: the listing marks each boundary with
 * the worst outcome over its windows ('+' 'x' 'F' 'a' 's' '!' '-' '.' and
 * blank where not reached), the summary counts covered over reached per
 * depth and event and per window and names what is untried, capped; the
 * lcov tracefile has one branch per reached boundary x event x depth, "-"
 * where untried and 0 where skipped, and genhtml (when installed) renders
 * it; the JSON parses.
 *
 * argv[1]: the directory of the built guest ELFs.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../injectors/injector.h"
#include "check.h"
#include "coverage_report.h"
#include "crashfile.h"
#include "oracle.h"

#define GAP    "syscall-gap [cpl0 gs=user rsp=user]"
#define OTHER  "exit-window [cpl0 gs=user rsp=user]"
#define KERNEL "kernel [cpl0 gs=kernel rsp=kstack]"
#define PROLOG "ist-prologue [cpl0 gs=kernel rsp=ist:nmi nmi-blocked]"

static struct guest_image img;
static struct guest_layout lay;
static char elf[512];
static uint64_t sys, hwframe, nmi, safe;

static void trial(struct cov_stub *s, uint64_t addr, const char *w, int kind,
		  int depth, enum cov_outcome o, enum verdict_kind v)
{
	cov_reach(s, addr, w, depth);
	cov_trial(s, addr, w, kind, depth, o, (int)v);
}

/* The map the listing, summary, lcov and JSON checks read. */
static struct cov_stub *make_map(struct coverage *c, uint64_t hash)
{
	char err[256];
	struct cov_stub *s =
		coverage_stub(c, "naive-ist", hash, err, sizeof(err));

	if (!s) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	cov_note_events(s, 1,
			1u << EVENT_NMI | 1u << EVENT_DB | 1u << EVENT_MC |
				1u << EVENT_IRQ); /* irq: not handled */
	cov_note_events(s, 2, 1u << EVENT_NMI | 1u << EVENT_MC);

	/* sys+0x0: nmi passed twice in the gap, failed as declared in
	 * another window (worst over windows: 'x'); db skipped; mc only
	 * reached. */
	trial(s, sys, GAP, EVENT_NMI, 1, COV_PASS, VERDICT_PASS);
	trial(s, sys, GAP, EVENT_NMI, 1, COV_PASS, VERDICT_PASS);
	trial(s, sys, OTHER, EVENT_NMI, 1, COV_DECLARED, VERDICT_INVARIANT);
	cov_trial(s, sys, GAP, EVENT_DB, 1, COV_UNTRIED, VERDICT_PASS);
	/* sys+0x3: one of each failure kind. */
	trial(s, sys + 3, GAP, EVENT_NMI, 1, COV_UNDECLARED,
	      VERDICT_STATE_MISMATCH);
	trial(s, sys + 3, GAP, EVENT_DB, 1, COV_OUTSIDE,
	      VERDICT_OUTSIDE_ASSUMPTIONS);
	trial(s, sys + 3, GAP, EVENT_MC, 1, COV_SHUTDOWN,
	      VERDICT_ARCH_SHUTDOWN);
	/* sys+0xc: harness error, a pass, one untried. */
	trial(s, sys + 0xc, GAP, EVENT_NMI, 1, COV_HARNESS,
	      VERDICT_HARNESS_ERROR);
	trial(s, sys + 0xc, GAP, EVENT_DB, 1, COV_PASS, VERDICT_PASS);
	/* after_hwframe+0x0..0x2 reached at depth 1 and never tried;
	 * +0x0 tried at depth 2. */
	for (int i = 0; i < 3; i++)
		cov_reach(s, hwframe + (uint64_t)i, KERNEL, 1);
	trial(s, hwframe, KERNEL, EVENT_NMI, 2, COV_PASS, VERDICT_PASS);
	/* asm_exc_nmi+0x0 at depth 2 only. */
	trial(s, nmi, PROLOG, EVENT_MC, 2, COV_PASS, VERDICT_PASS);
	return s;
}

/* The line of text that starts with prefix, as a new string, or NULL. */
static char *line_starting(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len >= n && !strncmp(p, prefix, n))
			return strndup(p, len);
		p = e ? e + 1 : NULL;
	}
	return NULL;
}

/* The marks of a row under the header's "dN:" columns: "x-." for
 * d1 n d m. In a buffer the next call reuses, so that a check is one
 * line. */
static const char *marks(const char *listing, const char *at, int depth)
{
	static char out[16];
	char prefix[200], col[8];
	char *header = line_starting(listing, "  boundary");
	char *row;
	const char *h;
	size_t k = 0;

	snprintf(prefix, sizeof(prefix), "  %s ", at);
	row = line_starting(listing, prefix);
	snprintf(col, sizeof(col), "d%d:", depth);
	out[0] = 0;
	if (!header || !row || !(h = strstr(header, col))) {
		fprintf(stderr, "no row %s or column %s\n", at, col);
		free(header);
		free(row);
		return out;
	}
	for (size_t i = (size_t)(h - header) + strlen(col);
	     k + 1 < sizeof(out) && header[i] && header[i] != ' '; i += 2) {
		out[k++] = i < strlen(row) ? row[i] : '?';
		if (header[i + 1] != ' ')
			break;
	}
	out[k] = 0;
	free(header);
	free(row);
	return out;
}

/* Whether a line of text, or of the section that starts with the line
 * `section` and ends at the next window or the untried list, has
 * exactly the whitespace-separated tokens of want. */
static int has_tokens(const char *text, const char *section, const char *want)
{
	const char *p = text, *end = NULL;
	int found = 0;

	if (section) {
		p = strstr(text, section);
		if (!p)
			return 0;
		p += strlen(section);
		end = strstr(p, "\n  window ");
		if (!end)
			end = strstr(p, "\nuntried");
	}
	for (; p && *p && (!end || p < end) && !found;) {
		char *line = strndup(p, strcspn(p, "\n")), *lc = strdup(want);
		char *sa, *sb, *ta = strtok_r(line, " \t", &sa);

		found = 1;
		for (char *tb = strtok_r(lc, " ", &sb); tb;
		     tb = strtok_r(NULL, " ", &sb)) {
			if (!ta || strcmp(ta, tb)) {
				found = 0;
				break;
			}
			ta = strtok_r(NULL, " \t", &sa);
		}
		if (ta)
			found = 0; /* more tokens than wanted */
		free(line);
		free(lc);
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return found;
}

/* What a report writes of ci, as a string to free; shown as well when
 * COVERAGE_REPORT_SHOW is set, to see what the checks read. */
static char *capture(void (*report)(FILE *, const struct cov_image *),
		     const struct cov_image *ci)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f) {
		perror("open_memstream");
		exit(1);
	}
	report(f, ci);
	fclose(f);
	if (getenv("COVERAGE_REPORT_SHOW"))
		fputs(text, stdout);
	return text;
}

static void test_listing(const struct cov_image *ci)
{
	char *text = capture(coverage_listing, ci), *l;

	CHECK(strstr(text, "  + tried, every trial passed as declared") !=
	      NULL);
	CHECK(strstr(text, "  - enumerated") != NULL);
	/* irq is swept but naive-ist has no handler for it: no column. */
	l = line_starting(text, "  boundary");
	CHECK(l && strstr(l, "d1:n d m  d2:n m  window"));
	free(l);

	CHECK_EQ_STR(marks(text, "entry_SYSCALL_64+0x0", 1), "x-.");
	CHECK_EQ_STR(marks(text, "entry_SYSCALL_64+0x0", 2), "  ");
	CHECK_EQ_STR(marks(text, "entry_SYSCALL_64+0x3", 1), "Fas");
	CHECK_EQ_STR(marks(text, "entry_SYSCALL_64+0xc", 1), "!+.");
	CHECK_EQ_STR(marks(text, "entry_SYSCALL_64_after_hwframe+0x0", 1),
		     "...");
	CHECK_EQ_STR(marks(text, "entry_SYSCALL_64_after_hwframe+0x0", 2),
		     "+.");
	CHECK_EQ_STR(marks(text, "entry_SYSCALL_64_after_hwframe+0x3", 1),
		     "   ");
	CHECK_EQ_STR(marks(text, "asm_exc_nmi+0x0", 1), "   ");
	CHECK_EQ_STR(marks(text, "asm_exc_nmi+0x0", 2), ".+");

	/* Every instruction is listed with its disassembly and windows. */
	l = line_starting(text, "  entry_SYSCALL_64+0x0 ");
	CHECK(l && strstr(l, " swapgs "));
	CHECK(l && strstr(l, "  " OTHER " | " GAP));
	free(l);
	l = line_starting(text, "  entry_SYSCALL_64_safe_stack+0x0 ");
	CHECK(l && strstr(l, "push 0x23") && strstr(l, "not reached"));
	free(l);
	l = line_starting(text, "  asm_exc_machine_check+0x0 ");
	CHECK(l != NULL);
	free(l);
	CHECK(strstr(text, "(bad)") == NULL);
	CHECK(strstr(text, "no instruction start") == NULL);

	/* A symbol header at each symbol, a rule where the window changes:
	 * from the gap into the unreached safe_stack, not inside the gap. */
	CHECK(strstr(text, "\nentry_SYSCALL_64:\n") != NULL);
	CHECK(strstr(text, "---\nentry_SYSCALL_64_safe_stack:\n") != NULL);
	CHECK(strstr(text, "-\n  entry_SYSCALL_64+0xc ") == NULL);
	CHECK(strstr(text, "-\n  entry_SYSCALL_64+0x3 ") != NULL);
	/* A direct call's target by name. */
	l = line_starting(text, "  entry_SYSCALL_64_after_hwframe+0x1b ");
	CHECK(l && strstr(l, "call 0x") && strstr(l, " <do_syscall+0x0>"));
	free(l);
	free(text);
}

static void test_summary(const struct cov_image *ci)
{
	char *text = capture(coverage_summary, ci);

	/* Depth 1 reached: sys+0x0, +0x3, +0xc, after_hwframe+0x0..0x2. */
	CHECK(has_tokens(text, NULL,
			 "d1 nmi 3/6 50.0% 0 5 harness (harness-error)"));
	CHECK(has_tokens(text, NULL,
			 "d1 db 2/6 33.3% 1 2 outside (outside-assumptions)"));
	CHECK(has_tokens(
		text, NULL,
		"d1 mc 1/6 16.7% 0 1 shutdown (architectural-shutdown)"));
	CHECK(has_tokens(text, NULL, "d2 nmi 1/2 50.0% 0 1 pass"));
	CHECK(has_tokens(text, NULL, "d2 mc 1/2 50.0% 0 1 pass"));
	CHECK(!has_tokens(text, NULL, "d1 irq"));

	/* Per window: the gap alone, the other window alone. */
	CHECK(has_tokens(text, "  window " GAP "\n",
			 "d1 nmi 3/3 100.0% 0 4 harness (harness-error)"));
	CHECK(has_tokens(text, "  window " GAP "\n",
			 "d1 db 2/3 66.7% 1 2 outside (outside-assumptions)"));
	CHECK(has_tokens(text, "  window " OTHER "\n",
			 "d1 nmi 1/1 100.0% 0 1 declared (invariant)"));
	CHECK(has_tokens(text, "  window " OTHER "\n", "d1 db 0/1 0.0% 0 0 -"));
	CHECK(has_tokens(text, "  window " PROLOG "\n",
			 "d2 mc 1/1 100.0% 0 1 pass"));

	/* Untried: consecutive boundaries as one range, kinds with the same
	 * boundaries on one line; a skipped one is not untried. */
	CHECK(strstr(text, "  " KERNEL ":\n    d1 nmi,db,mc: "
			   "entry_SYSCALL_64_after_hwframe+0x0..0x2\n"
			   "    d2 mc: entry_SYSCALL_64_after_hwframe+0x0\n") !=
	      NULL);
	CHECK(strstr(text, "  " GAP ":\n    d1 mc: entry_SYSCALL_64+0x0, "
			   "+0xc\n") != NULL);
	CHECK(strstr(text, "  " OTHER
			   ":\n    d1 db,mc: entry_SYSCALL_64+0x0\n") != NULL);
	CHECK(strstr(text, "  " PROLOG ":\n    d2 nmi: asm_exc_nmi+0x0\n") !=
	      NULL);
	CHECK(strstr(text, "more") == NULL);
	free(text);
}

/* Counts lines of text starting with prefix. */
static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p && *p;) {
		if (!strncmp(p, prefix, strlen(prefix)))
			n++;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return n;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, 0, f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Sends our stderr (and so a child's) to /dev/null while a check makes
 * a program fail on purpose, so the test's log shows only real errors. */
static int quiet_begin(void)
{
	int saved = dup(2), null = open("/dev/null", O_WRONLY);

	fflush(stderr);
	if (null >= 0) {
		dup2(null, 2);
		close(null);
	}
	return saved;
}

static void quiet_end(int saved)
{
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
}

/* Runs argv; its exit status, or -1 when it cannot be started. */
static int run(char *const argv[])
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_lcov(const struct cov_image *ci, const char *dir)
{
	char path[600], html[600], index[700], err[512], *text, *sf, *p;
	int dashes = 0, rc, q;
	uint64_t da_sum = 0;
	unsigned skip_line = 0;

	snprintf(path, sizeof(path), "%s/coverage.info", dir);
	CHECK_EQ_U64(coverage_write_lcov(path, ci, 1, err, sizeof(err)), 0);
	text = slurp(path);
	CHECK(text != NULL);
	if (!text) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	if (getenv("COVERAGE_REPORT_SHOW"))
		fputs(text, stdout);
	CHECK(!strncmp(text, "TN:", 3));
	CHECK(count_lines(text, "SF:") >= 2);
	CHECK_EQ_U64(count_lines(text, "SF:"),
		     count_lines(text, "end_of_record"));
	CHECK(strstr(text, "stubs/syscall_linux.inc\n") != NULL);
	CHECK(strstr(text, "stubs/naive-ist.S\n") != NULL);
	CHECK(strstr(text, "FN:") && strstr(text, ",naive-ist:asm_exc_nmi\n"));

	/* A branch per reached boundary x event x depth: 6 x 3 at depth 1,
	 * 2 x 2 at depth 2; "-" for the 13 reached and untried, 0 for the
	 * one skipped. */
	CHECK_EQ_U64(count_lines(text, "BRDA:"), 22);
	for (p = text; (p = strstr(p, "BRDA:")); p++) {
		size_t n = strcspn(p, "\n");

		dashes += p[n - 1] == '-' && p[n - 2] == ',';
		if (n > 4 && !strncmp(p + n - 4, ",1,0", 4)) {
			CHECK_EQ_U64(skip_line, 0); /* only one */
			skip_line = (unsigned)strtoul(p + 5, NULL, 10);
		}
	}
	CHECK_EQ_U64(dashes, 13);
	/* sys+0x0's line: nmi at depth 1 three times, mc never. */
	sf = strstr(text, "stubs/syscall_linux.inc\n");
	CHECK(skip_line != 0);
	if (sf && skip_line) {
		char want[64];

		snprintf(want, sizeof(want), "\nBRDA:%u,0,0,3\n", skip_line);
		CHECK(strstr(sf, want) != NULL);
		snprintf(want, sizeof(want), "\nBRDA:%u,0,2,-\n", skip_line);
		CHECK(strstr(sf, want) != NULL);
		snprintf(want, sizeof(want), "\nDA:%u,3\n", skip_line);
		CHECK(strstr(sf, want) != NULL);
	}
	/* Every trial on some line, once. */
	for (p = text; (p = strstr(p, "\nDA:")); p++)
		da_sum += strtoull(strchr(p, ',') + 1, NULL, 10);
	CHECK_EQ_U64(da_sum, 10);

	snprintf(html, sizeof(html), "%s/html", dir);
	if (coverage_render_html(path, html, err, sizeof(err))) {
		if (strstr(err, "genhtml not found")) {
			printf("note: %s; the HTML rendering is not checked\n",
			       err);
		} else {
			fprintf(stderr, "%s\n", err);
			CHECK(!"genhtml renders the tracefile");
		}
	} else {
		snprintf(index, sizeof(index), "%s/index.html", html);
		CHECK(access(index, R_OK) == 0);
		/* A failing genhtml is named with its status. */
		snprintf(path, sizeof(path), "%s/missing.info", dir);
		q = quiet_begin();
		rc = coverage_render_html(path, html, err, sizeof(err));
		quiet_end(q);
		CHECK(rc == -1);
		CHECK(strstr(err, "genhtml failed (exit status") != NULL);
	}

	/* An ELF addr2line cannot read is named, and nothing is written. */
	{
		struct cov_image bad = *ci;

		bad.elf_path = "/nonexistent/naive-ist.elf";
		snprintf(path, sizeof(path), "%s/bad.info", dir);
		q = quiet_begin();
		rc = coverage_write_lcov(path, &bad, 1, err, sizeof(err));
		quiet_end(q);
		CHECK(rc == -1);
		CHECK(strstr(err, "addr2line") != NULL);
		CHECK(access(path, F_OK) != 0);
	}
	free(text);
}

static void check_json(const char *path, const char *assert_py)
{
	char prog[1024];
	char *argv[] = {"python3", "-c", prog, (char *)path, NULL};
	int rc;

	snprintf(prog, sizeof(prog),
		 "import json,sys; d=json.load(open(sys.argv[1])); %s",
		 assert_py);
	rc = run(argv);
	if (rc == 127)
		printf("note: python3 not found; %s not validated\n", path);
	else
		CHECK_EQ_U64(rc, 0);
}

static void test_json(const struct cov_image *ci, const char *dir)
{
	char path[600], err[512], *text;

	snprintf(path, sizeof(path), "%s/coverage.json", dir);
	CHECK_EQ_U64(coverage_write_json(path, ci, 1, err, sizeof(err)), 0);
	text = slurp(path);
	CHECK(text != NULL);
	if (!text)
		return;
	CHECK(strstr(text, "\"at\":\"entry_SYSCALL_64+0x0\"") != NULL);
	CHECK(strstr(text, "\"worst_verdict\":null") != NULL);
	CHECK(strstr(text, "\"events\":[[\"nmi\",\"db\",\"mc\",\"irq\"],"
			   "[\"nmi\",\"mc\"]]") != NULL);
	free(text);
	check_json(
		path,
		"s=d['stubs'][0]; "
		"assert d['version']==1 and s['name']=='naive-ist'; "
		"assert len(s['image_hash'])==16; "
		"c=[x for x in s['cells'] if x['at']=='entry_SYSCALL_64+0x3' "
		"and x['event']=='db'][0]; "
		"assert c['worst']=='outside' and c['tried']==1 and "
		"c['worst_verdict']=='outside-assumptions' and "
		"c['window']=='" GAP "' and c['depth']==1; "
		"assert len(s['reach'])==9");
}

/* Past the cap, the untried list only counts; a label JSON must escape
 * (quotes, backslash, control bytes, a byte that is not UTF-8) still
 * parses. */
static void test_cap_and_escape(uint64_t hash, const char *dir)
{
	struct coverage c;
	struct cov_stub *s;
	struct cov_image ci;
	char err[256], label[WINDOW_LABEL_MAX], path[600], *text, *l;

	coverage_init(&c);
	s = coverage_stub(&c, "naive-ist", hash, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	cov_note_events(s, 1, 1u << EVENT_NMI | 1u << EVENT_DB);
	for (int i = 0; i < 30; i++) {
		snprintf(label, sizeof(label), "w%02d [cpl0]", i);
		cov_reach(s, sys + (i % 2 ? 3 : 0), label, 1);
	}
	cov_reach(s, sys, "odd \"quoted\" \\ label\t\x01 [\xff]", 1);
	/* Inside swapgs: no instruction starts there, still shown. */
	cov_reach(s, sys + 1, "w00 [cpl0]", 1);
	ci = (struct cov_image){s, &img, &lay, elf};

	text = capture(coverage_listing, &ci);
	CHECK(strstr(text, "\nboundaries in the map that are no instruction "
			   "start of the text above:\n") != NULL);
	l = line_starting(text, "  entry_SYSCALL_64+0x1 ");
	CHECK(l && strstr(l, "(not an instruction start here)") &&
	      strstr(l, "w00 [cpl0]"));
	free(l);
	free(text);

	text = capture(coverage_summary, &ci);
	/* 24 lines of "d1 nmi,db: ..."; the 7 other windows' 14 left. */
	CHECK(strstr(text, "  ... and 14 more\n") != NULL);
	CHECK_EQ_U64(count_lines(text, "    d1 nmi,db: "), 24);
	CHECK(strstr(text, "    d1 nmi,db: entry_SYSCALL_64+0x0, +0x1\n") !=
	      NULL);
	free(text);

	snprintf(path, sizeof(path), "%s/odd.json", dir);
	CHECK_EQ_U64(coverage_write_json(path, &ci, 1, err, sizeof(err)), 0);
	check_json(path, "assert any(w.startswith('odd \"quoted\" \\\\ "
			 "label\\t\\x01 [\\ufffd') for w in "
			 "d['stubs'][0]['windows'])");
	coverage_free(&c);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : IST_GUEST_DIR;
	char err[512], tmp[] = "/tmp/test-coverage-report-XXXXXX";
	struct coverage c;
	struct cov_stub *s;
	struct cov_image ci;
	uint64_t hash;

	snprintf(elf, sizeof(elf), "%s/naive-ist.elf", dir);
	if (image_load(elf, &img, err, sizeof(err)) ||
	    guest_layout_read(&img, &lay, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	CHECK(image_symbol_addr(&img, "entry_SYSCALL_64", &sys) == 0);
	CHECK(image_symbol_addr(&img, "entry_SYSCALL_64_after_hwframe",
				&hwframe) == 0);
	CHECK(image_symbol_addr(&img, "entry_SYSCALL_64_safe_stack", &safe) ==
	      0);
	CHECK(image_symbol_addr(&img, "asm_exc_nmi", &nmi) == 0);
	CHECK_EQ_U64(safe, sys + 0x15); /* the map below relies on it */
	hash = crash_image_hash(&img);
	if (!mkdtemp(tmp)) {
		fprintf(stderr, "cannot make a temporary directory: %s\n",
			strerror(errno));
		return 1;
	}

	coverage_init(&c);
	s = make_map(&c, hash);
	CHECK(s != NULL);
	if (s) {
		ci = (struct cov_image){s, &img, &lay, elf};
		test_listing(&ci);
		test_summary(&ci);
		test_lcov(&ci, tmp);
		test_json(&ci, tmp);
	}
	coverage_free(&c);
	test_cap_and_escape(hash, tmp);

	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	image_free(&img);
	return check_summary("test_coverage_report");
}
