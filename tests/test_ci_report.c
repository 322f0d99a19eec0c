/* The CI reports (harness/ci_report.c) from stub results and a coverage map
 * made by hand, no back end needed: the JUnit XML validates against
 * fixtures/junit.xsd (argv[1]) and has a failure element exactly where a
 * schedule is not as declared, an error element for a harness error and
 * for a stub that could not be swept, declared failures and failures
 * outside assumptions in system-out; a failure whose window has no cell in
 * the map still has its testcase; text that XML and JSON cannot carry as
 * is (markup characters, a control character, bad UTF-8) is escaped or
 * replaced; the JSON parses and has the counts; both are written
 * atomically and the same input gives the same bytes. The schema itself
 * must reject a malformed report, or validating against it proves
 * nothing.
 */
#include <dirent.h>
#include <stdarg.h>
#include <unistd.h>

#include "check.h"
#include "ci_report.h"
#include "oracle.h"

#define W_EXIT	 "exit-window [cpl0 gs=user rsp=user]"
#define W_IST	 "ist-prologue [cpl0 gs=kernel rsp=ist:nmi nmi-blocked]"
#define W_KERNEL "kernel [cpl0 gs=kernel rsp=kstack]"
#define W_GAP	 "syscall-gap [cpl0 gs=user rsp=user]"
#define W_TCB	 "stack:tcb [cpl0 gs=kernel rsp=tcb]"

/* Markup characters, a control character and a byte that is not UTF-8:
 * all must come out escaped or replaced. */
#define NASTY "rax  <&>\"' \x01 \xff end"

static const char *xsd;
static char dir[64];

static char *path_in(const char *name)
{
	static char bufs[4][400];
	static int next;
	char *p = bufs[next++ % 4];

	snprintf(p, sizeof(bufs[0]), "%s/%s", dir, name);
	return p;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[len] = 0;
	fclose(f);
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Exit status of a shell command, printf-style. */
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* Does the file validate against the schema? xmllint's complaints are
 * shown only when it does not. */
static int validates(const char *file)
{
	const char *log = path_in("xmllint.log");
	int rc = run("xmllint --noout --schema '%s' '%s' 2>'%s'", xsd, file,
		     log);
	char *text = rc ? slurp(log) : NULL;

	if (text)
		fprintf(stderr, "%s", text);
	free(text);
	unlink(log);
	return rc == 0;
}

/* What `xmllint --xpath EXPR FILE` prints, trailing newline dropped (the
 * expression must not hold a single quote). */
static const char *xpath(const char *file, const char *expr)
{
	static char out[4096];
	char cmd[1024];
	size_t len;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "xmllint --xpath '%s' '%s' 2>/dev/null",
		 expr, file);
	out[0] = 0;
	p = popen(cmd, "r");
	if (!p)
		return out;
	len = fread(out, 1, sizeof(out) - 1, p);
	out[len] = 0;
	pclose(p);
	while (len && out[len - 1] == '\n')
		out[--len] = 0;
	return out;
}

/* The testcases of a suite are named want[0..n), in that order. */
static void check_case_order(const char *file, int suite,
			     const char *const *want, size_t n)
{
	char expr[128];

	for (size_t i = 0; i < n; i++) {
		snprintf(expr, sizeof(expr),
			 "string(//testsuite[%d]/testcase[%zu]/@name)", suite,
			 i + 1);
		CHECK_EQ_STR(xpath(file, expr), want[i]);
	}
}

static void failure(struct sweep_failure *f, const char *sched, int depth,
		    int kind, const char *window, const char *verdict,
		    const char *declared, int as_declared, int outside,
		    const char *crash, const char *details)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->schedule, sizeof(f->schedule), "%s", sched);
	f->depth = depth;
	f->kind = kind;
	snprintf(f->window, sizeof(f->window), "%s", window);
	snprintf(f->verdict, sizeof(f->verdict), "%s", verdict);
	snprintf(f->declared, sizeof(f->declared), "%s", declared);
	f->as_declared = as_declared;
	f->outside = outside;
	snprintf(f->crash, sizeof(f->crash), "%s", crash);
	if (crash[0])
		snprintf(f->signature, sizeof(f->signature),
			 "0123456789abcdef");
	f->details = details ? strdup(details) : NULL;
}

static void results_free(struct stub_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < r[i].nfailures; k++)
			free(r[i].failures[k].details);
		free(r[i].failures);
	}
}

/* Three stubs. "buggy", swept to depth 2:
 *   syscall-gap / nmi / 1   2 trials, one a declared invariant failure
 *   kernel / nmi / 1        3 trials, one an undeclared state-mismatch
 *   kernel / db / 1         1 trial, passed
 *   kernel / irq / 1        1 trial, a harness error
 *   exit-window / mc / 2    1 trial, a double fault outside assumptions
 *   ist-prologue / nmi / 2  skipped only: no testcase
 *   stack:tcb / db / 2      not in the map: a declared failure that passed
 * "unloadable", which could not be swept, and "golden", which fails
 * without any injection. */
static void make(struct stub_result *r, struct coverage *cov)
{
	struct stub_result *b = &r[0];
	struct sweep_failure *f;
	struct cov_stub *s;
	char err[300];

	memset(r, 0, 3 * sizeof(*r));
	coverage_init(cov);
	s = coverage_stub(cov, "buggy", 0x1234, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		exit(1);
	cov_note_events(s, 1, 0xf);
	cov_note_events(s, 2, 0xf);
	cov_trial(s, 0x1000, W_GAP, EVENT_NMI, 1, COV_DECLARED,
		  VERDICT_INVARIANT);
	cov_trial(s, 0x1001, W_GAP, EVENT_NMI, 1, COV_PASS, VERDICT_PASS);
	cov_trial(s, 0x1002, W_KERNEL, EVENT_NMI, 1, COV_UNDECLARED,
		  VERDICT_STATE_MISMATCH);
	cov_trial(s, 0x1003, W_KERNEL, EVENT_NMI, 1, COV_PASS, VERDICT_PASS);
	cov_trial(s, 0x1004, W_KERNEL, EVENT_NMI, 1, COV_PASS, VERDICT_PASS);
	cov_trial(s, 0x1002, W_KERNEL, EVENT_DB, 1, COV_PASS, VERDICT_PASS);
	cov_trial(s, 0x1005, W_KERNEL, EVENT_IRQ, 1, COV_HARNESS,
		  VERDICT_HARNESS_ERROR);
	cov_trial(s, 0x1006, W_EXIT, EVENT_MC, 2, COV_OUTSIDE,
		  VERDICT_DOUBLE_FAULT);
	cov_trial(s, 0x1007, W_IST, EVENT_NMI, 2, COV_UNTRIED, VERDICT_PASS);
	cov_trial(s, 0x1008, W_IST, EVENT_NMI, 2, COV_UNTRIED, VERDICT_PASS);

	snprintf(b->name, sizeof(b->name), "buggy");
	b->swept = 1;
	b->depth = 2;
	b->counts[0] = (struct depth_counts){.schedules = 7,
					     .passed = 4,
					     .failed = 2,
					     .harness_errors = 1,
					     .impossible = 3};
	b->counts[1] = (struct depth_counts){
		.schedules = 2, .passed = 1, .outside = 1, .held_out = 2};
	b->unexpected = 1;
	b->no_longer_failing = 1;
	b->crashes_written = 2;
	b->nfailures = 5;
	b->failures = f = calloc(b->nfailures, sizeof(*f));
	if (!f)
		exit(1);
	failure(&f[0], "nmi@entry_SYSCALL_64+0x0", 1, EVENT_NMI, W_GAP,
		"invariant", "invariant", 1, 0,
		"crashes/buggy-invariant-0123456789abcdef.crash",
		"the handler body ran on the wrong GS base\n");
	failure(&f[1], "nmi@entry_SYSCALL_64+0x9", 1, EVENT_NMI, W_KERNEL,
		"state-mismatch", "pass", 0, 0,
		"crashes/buggy-state-mismatch-0123456789abcdef.crash",
		"field expected observed\n" NASTY);
	failure(&f[2], "nmi@x+0x0 > mc@asm_exc_nmi+0x1", 2, EVENT_MC, W_EXIT,
		"double-fault", "pass", 1, 1, "", NULL);
	snprintf(f[2].assumption, sizeof(f[2].assumption),
		 "no #MC in entry text");
	failure(&f[3], "irq@entry_SYSCALL_64+0x12", 1, EVENT_IRQ, W_KERNEL,
		verdict_name(VERDICT_HARNESS_ERROR), "pass", 0, 0, "",
		"KVM_RUN failed: EINTR");
	failure(&f[4], "nmi@y+0x0 > db@tcb_save+0x3", 2, EVENT_DB, W_TCB,
		"pass", "fail", 0, 0, "", NULL);

	snprintf(r[1].name, sizeof(r[1].name), "unloadable");
	snprintf(r[1].error, sizeof(r[1].error),
		 "cannot load unloadable.elf: <not> an \"ELF\" & \x02 so");
	snprintf(r[2].name, sizeof(r[2].name), "golden");
	r[2].golden_failed = 1;
	snprintf(r[2].error, sizeof(r[2].error),
		 "fails without any injection: state-mismatch");
}

static const struct ci_run run_info = {
	.backend = "kvm",
	.seed = 0x1,
	.depth = 2,
	.events = "nmi,db,mc,irq",
	.shard = "2/4",
	.complete = 1,
	.seconds = 12.5,
	.exit_status = 1,
};

#define CASE_NAME(w, e, d) w " / " e " / depth " #d
#define CASE(w, e, d)	   "//testcase[@name=\"" CASE_NAME(w, e, d) "\"]"

static void test_junit(const struct stub_result *r, const struct coverage *cov)
{
	/* Sorted by window label, then event kind, then depth. */
	static const char *const order[] = {
		CASE_NAME(W_EXIT, "mc", 2),   CASE_NAME(W_KERNEL, "nmi", 1),
		CASE_NAME(W_KERNEL, "db", 1), CASE_NAME(W_KERNEL, "irq", 1),
		CASE_NAME(W_TCB, "db", 2),    CASE_NAME(W_GAP, "nmi", 1),
	};
	const char *file = path_in("junit.xml");
	char err[600], *xml, *again;

	CHECK_EQ_U64(
		ci_write_junit(file, &run_info, r, 3, cov, err, sizeof(err)),
		0);
	xml = slurp(file);
	CHECK(xml != NULL);
	if (!xml)
		return;
	CHECK(validates(file));

	/* Escaping: markup as entities, the control character and the bad
	 * byte replaced, nothing raw. */
	CHECK(strstr(xml, "&lt;&amp;&gt;&quot;&apos;") != NULL);
	CHECK(strchr(xml, '\x01') == NULL);
	CHECK(strchr(xml, '\x02') == NULL);
	CHECK(strchr(xml, '\xff') == NULL);
	CHECK(strstr(xml, "&lt;not&gt; an &quot;ELF&quot; &amp;") != NULL);

	CHECK_EQ_STR(xpath(file, "string(/testsuites/@tests)"), "8");
	CHECK_EQ_STR(xpath(file, "string(/testsuites/@failures)"), "3");
	CHECK_EQ_STR(xpath(file, "string(/testsuites/@errors)"), "2");
	CHECK_EQ_STR(xpath(file, "string(/testsuites/@time)"), "12.500");
	CHECK_EQ_STR(xpath(file, "count(//testsuite)"), "3");
	CHECK_EQ_STR(xpath(file, "string(//testsuite[1]/@name)"), "buggy");
	CHECK_EQ_STR(xpath(file, "string(//testsuite[1]/@tests)"), "6");
	CHECK_EQ_STR(xpath(file, "string(//testsuite[1]/@failures)"), "2");
	CHECK_EQ_STR(xpath(file, "string(//testsuite[1]/@errors)"), "1");
	CHECK_EQ_STR(xpath(file, "count(//testsuite[1]/testcase)"), "6");
	CHECK_EQ_STR(
		xpath(file, "string(//testsuite[1]/testcase[1]/@classname)"),
		"ist-torture.buggy");
	check_case_order(file, 1, order, sizeof(order) / sizeof(*order));
	CHECK_EQ_STR(xpath(file, "count(" CASE(W_IST, "nmi", 2) ")"), "0");

	/* A failure element exactly where a schedule is not as declared. */
	CHECK_EQ_STR(xpath(file, "count(//testsuite[1]//failure)"), "2");
	CHECK_EQ_STR(xpath(file, "count(" CASE(W_KERNEL, "nmi", 1) "/failure)"),
		     "1");
	CHECK_EQ_STR(xpath(file, "count(" CASE(W_TCB, "db", 2) "/failure)"),
		     "1");
	CHECK_EQ_STR(xpath(file, "string(" CASE(W_KERNEL, "nmi",
						1) "/failure/@type)"),
		     "state-mismatch");
	CHECK_EQ_STR(
		xpath(file,
		      "string(" CASE(W_KERNEL, "nmi", 1) "/failure/@message)"),
		"nmi@entry_SYSCALL_64+0x9: state-mismatch, not declared by "
		"the stub (it declares pass)");
	CHECK(strstr(xpath(file,
			   "string(" CASE(W_KERNEL, "nmi", 1) "/failure)"),
		     "observed\nrax  <&>\"' \xef\xbf\xbd \xef\xbf\xbd end\n"
		     "crash file: "
		     "crashes/buggy-state-mismatch-0123456789abcdef.crash") !=
	      NULL);
	CHECK(strstr(xpath(file, "string(" CASE(W_TCB, "db", 2) "/failure)"),
		     "passed, but the stub declares fail") != NULL);
	/* The harness error is an error, never a failure. */
	CHECK_EQ_STR(xpath(file, "count(" CASE(W_KERNEL, "irq", 1) "/*)"), "1");
	CHECK_EQ_STR(
		xpath(file, "string(" CASE(W_KERNEL, "irq", 1) "/error/@type)"),
		"harness-error");
	/* Declared, and outside assumptions: system-out, with the crash
	 * file and the assumption. */
	CHECK_EQ_STR(xpath(file, "count(" CASE(W_GAP, "nmi", 1) "/*)"), "1");
	CHECK(strstr(xpath(file,
			   "string(" CASE(W_GAP, "nmi", 1) "/system-out)"),
		     "crash file: crashes/buggy-invariant-0123456789abcdef"
		     ".crash") != NULL);
	CHECK_EQ_STR(xpath(file, "count(" CASE(W_EXIT, "mc", 2) "/*)"), "1");
	CHECK(strstr(xpath(file,
			   "string(" CASE(W_EXIT, "mc", 2) "/system-out)"),
		     "outside the stub's assumption: no #MC in entry text") !=
	      NULL);
	CHECK_EQ_STR(xpath(file, "count(" CASE(W_KERNEL, "db", 1) "/*)"), "0");

	/* The stubs that were not swept. */
	CHECK_EQ_STR(xpath(file, "string(//testsuite[2]/@name)"), "unloadable");
	CHECK_EQ_STR(xpath(file, "string(//testsuite[2]/testcase/@name)"),
		     "sweep");
	CHECK_EQ_STR(xpath(file, "string(//testsuite[2]/testcase/error/@type)"),
		     "not-swept");
	CHECK_EQ_STR(xpath(file, "string(//testsuite[3]/@failures)"), "1");
	CHECK_EQ_STR(
		xpath(file, "string(//testsuite[3]/testcase/failure/@type)"),
		"golden-failed");
	CHECK_EQ_STR(xpath(file, "string(//testsuite[1]/properties/"
				 "property[@name=\"shard\"]/@value)"),
		     "2/4");

	/* Same input, same bytes. */
	CHECK_EQ_U64(
		ci_write_junit(file, &run_info, r, 3, cov, err, sizeof(err)),
		0);
	again = slurp(file);
	CHECK(again && !strcmp(xml, again));
	free(again);
	free(xml);
}

/* Without a map the failures still make their testcases; failures
 * dropped beyond those kept still fail the suite; a stub with nothing
 * to list is still one passing testcase. */
static void test_junit_sparse(struct stub_result *r)
{
	const char *file = path_in("sparse.xml");
	struct stub_result q[2];
	char err[600];

	memset(q, 0, sizeof(q));
	snprintf(q[0].name, sizeof(q[0].name), "dropped");
	q[0].swept = 1;
	q[0].depth = 1;
	q[0].counts[0].schedules = 9000;
	q[0].counts[0].failed = 9000;
	q[0].unexpected = 9000;
	q[0].dropped = 9000;
	snprintf(q[1].name, sizeof(q[1].name), "quiet");
	q[1].swept = 1;
	q[1].depth = 1;
	CHECK_EQ_U64(
		ci_write_junit(file, &run_info, q, 2, NULL, err, sizeof(err)),
		0);
	CHECK(validates(file));
	CHECK_EQ_STR(xpath(file, "string(//testsuite[1]/testcase/@name)"),
		     "failures not kept");
	CHECK_EQ_STR(xpath(file, "count(//testsuite[1]/testcase/failure)"),
		     "1");
	CHECK_EQ_STR(xpath(file, "string(//testsuite[2]/testcase/@name)"),
		     "sweep");
	CHECK_EQ_STR(xpath(file, "count(//testsuite[2]/testcase/*)"), "0");
	CHECK_EQ_STR(xpath(file, "string(/testsuites/@failures)"), "1");

	CHECK_EQ_U64(
		ci_write_junit(file, &run_info, r, 1, NULL, err, sizeof(err)),
		0);
	CHECK(validates(file));
	CHECK_EQ_STR(xpath(file, "count(//testcase)"), "5");
	CHECK_EQ_STR(xpath(file, "count(//failure)"), "2");
	CHECK_EQ_STR(xpath(file, "count(//error)"), "1");
}

/* The JSON has the counts, the escaping, and parses. */
static void test_json(const struct stub_result *r, const struct coverage *cov)
{
	const char *file = path_in("report.json");
	const char *script = path_in("check.py");
	char err[600], *json;
	FILE *f;

	CHECK_EQ_U64(
		ci_write_json(file, &run_info, r, 3, cov, err, sizeof(err)), 0);
	json = slurp(file);
	CHECK(json != NULL);
	if (!json)
		return;
	CHECK(strstr(json, "\"seed\": \"0x1\"") != NULL);
	CHECK(strstr(json, "\"shard\": \"2/4\"") != NULL);
	CHECK(strstr(json, "\"complete\": true") != NULL);
	CHECK(strstr(json, "\"seconds\": 12.500") != NULL);
	CHECK(strstr(json, "\"exit_status\": 1") != NULL);
	CHECK(strstr(json, "rax  <&>\\\"' \\u0001 \\ufffd end") != NULL);
	CHECK(strstr(json, "\"crash\": \"crashes/buggy-state-mismatch-"
			   "0123456789abcdef.crash\"") != NULL);
	CHECK(strstr(json, "\"field expected observed\\nrax") != NULL);
	CHECK(strchr(json, '\x01') == NULL);
	CHECK(strchr(json, '\xff') == NULL);
	free(json);

	if (run("command -v python3 >/dev/null 2>&1")) {
		printf("python3 is missing: the JSON report is not parsed "
		       "(install python3 to check it)\n");
		return;
	}
	/* The counts, read back by a real parser. */
	f = fopen(script, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fprintf(f,
		"import json, sys\n"
		"d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
		"b, u, g = d['stubs']\n"
		"assert d['version'] == 1 and d['tool'] == 'ist-torture'\n"
		"assert d['backend'] == 'kvm' and d['depth'] == 2\n"
		"assert d['events'] == 'nmi,db,mc,irq'\n"
		"assert b['swept'] is True and b['error'] is None\n"
		"assert b['schedules'] == 9 and b['failures'] == 3\n"
		"assert b['harness_errors'] == 1\n"
		"assert b['unexpected'] == 1 and b['no_longer_failing'] == 1\n"
		"assert b['crashes_written'] == 2\n"
		"assert [p['schedules'] for p in b['per_depth']] == [7, 2]\n"
		"assert b['per_depth'][1]['held_out'] == 2\n"
		"assert len(b['failure_list']) == 5\n"
		"f = b['failure_list'][1]\n"
		"assert f['details'].endswith('<&>\"\\' \\x01 \\ufffd end')\n"
		"assert f['as_declared'] is False and f['event'] == 'nmi'\n"
		"assert f['window'] == '%s'\n"
		"assert f['signature'] == '0123456789abcdef'\n"
		"assert b['failure_list'][2]['crash'] is None\n"
		"assert b['failure_list'][2]['outside'] is True\n"
		"assert b['failure_list'][2]['assumption'] == "
		"'no #MC in entry text'\n"
		"assert b['failure_list'][3]['signature'] is None\n"
		"assert b['failure_list'][4]['details'] is None\n"
		"w = {(x['window'], x['event'], x['depth']): x\n"
		"     for x in b['windows']}\n"
		"assert len(w) == 6, w\n"
		"assert w[('%s', 'nmi', 1)]['tried'] == 3\n"
		"assert w[('%s', 'nmi', 1)]['worst'] == 'undeclared'\n"
		"assert w[('%s', 'nmi', 2)]['skipped'] == 2\n"
		"assert w[('%s', 'nmi', 2)]['worst'] == 'untried'\n"
		"assert u['swept'] is False\n"
		"assert u['error'].startswith('cannot load')\n"
		"assert u['per_depth'] == [] and u['schedules'] == 0\n"
		"assert g['golden_failed'] is True\n",
		W_KERNEL, W_KERNEL, W_KERNEL, W_IST, W_IST);
	fclose(f);
	CHECK_EQ_U64(run("python3 '%s' '%s'", script, file), 0);
	unlink(script);
}

/* The schema fails what is not a JUnit report. */
static void test_schema_rejects(void)
{
	static const char *const bad[] = {
		/* a testcase without its name */
		"<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"0\" "
		"errors=\"0\"><testcase classname=\"c\"/></testsuite>"
		"</testsuites>\n",
		/* a count that is not a number */
		"<testsuites><testsuite name=\"s\" tests=\"one\" "
		"failures=\"0\" errors=\"0\"><testcase name=\"t\"/>"
		"</testsuite></testsuites>\n",
		/* failure after system-out */
		"<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"1\" "
		"errors=\"0\"><testcase name=\"t\"><system-out>x</system-out>"
		"<failure message=\"m\"/></testcase></testsuite>"
		"</testsuites>\n",
		/* an element JUnit does not have */
		"<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"0\" "
		"errors=\"0\"><testcase name=\"t\"><verdict/></testcase>"
		"</testsuite></testsuites>\n",
		/* a testsuite without its counts */
		"<testsuites><testsuite name=\"s\"><testcase name=\"t\"/>"
		"</testsuite></testsuites>\n",
		/* a time that is not a number of seconds */
		"<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"0\" "
		"errors=\"0\"><testcase name=\"t\" time=\"1,5\"/>"
		"</testsuite></testsuites>\n",
	};
	const char *good = "<testsuites><testsuite name=\"s\" tests=\"1\" "
			   "failures=\"0\" errors=\"0\"><testcase name=\"t\" "
			   "time=\"1.5\"/></testsuite></testsuites>\n";
	const char *file = path_in("bad.xml");

	/* The baseline passes, so the rejections below are the schema's. */
	spit(file, good);
	CHECK_EQ_U64(run("xmllint --noout --schema '%s' '%s' 2>/dev/null", xsd,
			 file),
		     0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spit(file, bad[i]);
		if (!run("xmllint --noout --schema '%s' '%s' 2>/dev/null", xsd,
			 file)) {
			check_failures++;
			fprintf(stderr, "the schema accepts bad document %zu\n",
				i);
		} else {
			check_passes++;
		}
	}
	unlink(file);
}

/* A write that cannot happen says so and leaves nothing behind. */
static void test_write_error(const struct stub_result *r,
			     const struct coverage *cov)
{
	char err[600] = "", path[300];

	snprintf(path, sizeof(path), "%s/no/such/dir/junit.xml", dir);
	CHECK(ci_write_junit(path, &run_info, r, 3, cov, err, sizeof(err)) ==
	      -1);
	CHECK(strstr(err, "no/such/dir") != NULL);
	err[0] = 0;
	CHECK(ci_write_json(path, &run_info, r, 3, cov, err, sizeof(err)) ==
	      -1);
	CHECK(strstr(err, "no/such/dir") != NULL);
}

/* Atomic writes leave no temporary file; the directory is then removed. */
static void clean_up(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (strstr(e->d_name, ".tmp")) {
			check_failures++;
			fprintf(stderr, "a temporary file was left: %s\n",
				e->d_name);
		}
		unlink(path_in(e->d_name));
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	struct stub_result r[3];
	struct coverage cov;

	if (argc < 2) {
		fprintf(stderr, "usage: %s JUNIT.XSD\n", argv[0]);
		return 2;
	}
	xsd = argv[1];
	if (run("command -v xmllint >/dev/null 2>&1"))
		CHECK_SKIP("xmllint is missing: install libxml2-utils "
			   "(scripts/setup.sh does) to validate the JUnit "
			   "report");
	snprintf(dir, sizeof(dir), "/tmp/test_ci_report.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	make(r, &cov);
	test_junit(r, &cov);
	test_junit_sparse(r);
	test_json(r, &cov);
	test_schema_rejects();
	test_write_error(r, &cov);
	clean_up();
	results_free(r, 3);
	coverage_free(&cov);
	return check_summary("test_ci_report");
}
