/* ist-torture: the command line.
 *
 * Exit codes (README.md, "Reading the report"):
 *   0  every stub swept got exactly the verdicts its header declares
 *   1  some stub did not (an undeclared failure or pass), or could not be
 *      swept because it fails without any injection
 *   2  bad usage or environment: unknown command, option or stub; no usable
 *      back end (no /dev/kvm and no QEMU, or the one asked for is missing);
 *      no stub directory; a stub file that is not a stub, or a
 *      --stub-file that does not build; an event kind the back end cannot
 *      sweep
 *   3  harness error: the back end (KVM or QEMU) failed under the harness
 *      (never the stub's fault)
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "crashfile.h"
#include "report.h"
#include "stub_build.h"
#include "sweep.h"
#include "trial.h"
#include "trial_trace.h"

#ifndef IST_DEFAULT_GUEST_DIR
#define IST_DEFAULT_GUEST_DIR "guest"
#endif

enum {
	EXIT_AS_DECLARED = 0,
	EXIT_NOT_AS_DECLARED = 1,
	EXIT_USAGE = 2,
	EXIT_HARNESS = 3
};

enum backend_choice { BACKEND_AUTO, BACKEND_KVM, BACKEND_QEMU };

struct cli {
	const char *command;
	const char *stubs;
	const char *stub_file;
	const char *guest_dir;
	const char *kvm_device;
	const char *crash_dir;
	char **files; /* replay */
	int nfiles;
	int trace; /* replay --trace */
	int json;  /* replay --json */
	enum backend_choice backend;
	int events_given;
	int db_method_given;
	struct sweep_options opt;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ist-torture <command> [options]\n"
		"\n"
		"commands:\n"
		"  list     list the stubs with what each declares\n"
		"  sweep    try events at every instruction boundary of each\n"
		"           stub's entry text, nested to --depth, judge each\n"
		"           schedule, print the report\n"
		"  replay FILE...  run the schedule of each crash file again\n"
		"           and say whether it still gets its verdict\n"
		"  minimize FILE...  the smallest schedule in the same "
		"windows\n"
		"           with the same signature, written to "
		"FILE.min.crash\n"
		"\n"
		"options:\n"
		"  --stub NAME[,NAME...]|all  stubs to sweep (default: all)\n"
		"  --stub-file FILE.S your own stub: built against the guest\n"
		"                     runtime (docs/stub-abi.md) and swept\n"
		"                     instead of the catalogue\n"
		"  --depth N          schedules of up to N nested injections\n"
		"                     (default: 2, at most %d)\n"
		"  --events LIST      event kinds, comma-separated (default: "
		"%s);\n"
		"                     per level with ':' (nmi:db:nmi tries an "
		"NMI,\n"
		"                     a #DB inside its handling, an NMI inside "
		"that)\n"
		"  --at SYM[+OFF]     first injection only at boundaries named "
		"after\n"
		"                     SYM, or exactly at SYM+OFF; per level\n"
		"                     with '>' ('A > B+0x4' narrows the first\n"
		"                     two injections)\n"
		"  --exec K           first injection only at the K-th "
		"execution\n"
		"  --db-method M      payload: inject #DB with its DR6 bits;\n"
		"                     dr: arm the guest's own DR0 at the "
		"boundary\n"
		"                     (default: payload where the back end "
		"can,\n"
		"                     else dr)\n"
		"  --seed N           workload seed (default: 1)\n"
		"  --timeout-ms N     wall-clock limit of one run before it is "
		"a\n"
		"                     hang (default: %d)\n"
		"  --guest-dir DIR    directory of stub ELFs (default: %s,\n"
		"                     or $IST_GUEST_DIR)\n"
		"  --backend B        kvm, qemu, or auto (default): KVM\n"
		"                     when its device opens, else QEMU\n"
		"                     (TCG: slower; #DB by dr only)\n"
		"  --kvm PATH         KVM device (default: /dev/kvm, or\n"
		"                     $IST_KVM_DEVICE)\n"
		"  --crash-dir DIR    sweep: a crash file per distinct "
		"failure\n"
		"                     (default: crashes); 'none': no files\n"
		"  -h, --help         this text\n"
		"\n"
		"exit codes: 0 every stub got the verdicts it declares "
		"(replay: "
		"every\n"
		"            file reproduced); 1 some did not; 2 bad usage, a "
		"bad stub\n"
		"            or crash file, or no usable back end; 3 harness "
		"error\n",
		SCHEDULE_MAX_DEPTH, injector_names(), TRIAL_TIMEOUT_MS,
		IST_DEFAULT_GUEST_DIR);
}

static int parse_number(const char *opt, const char *text, uint64_t max,
			uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(text, &end, 0);
	if (errno || !*text || *end || *out > max || text[0] == '-') {
		fprintf(stderr,
			"ist-torture: %s wants a number up to %" PRIu64
			", not '%s'\n",
			opt, max, text);
		return -1;
	}
	return 0;
}

static int parse_event_set(const char *list, unsigned *mask)
{
	char *copy = strdup(list), *save = NULL;
	int rc = 0;

	*mask = 0;
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		const struct injector *inj = injector_by_name(t);
		if (!inj) {
			fprintf(stderr,
				"ist-torture: unknown event kind '%s'; known: "
				"%s\n",
				t, injector_names());
			rc = -1;
			break;
		}
		*mask |= 1u << inj->kind;
	}
	free(copy);
	if (!rc && !*mask) {
		fprintf(stderr,
			"ist-torture: an event set in --events is empty; "
			"known: %s\n",
			injector_names());
		rc = -1;
	}
	return rc;
}

/* "nmi,db" for every level, or "nmi:db:nmi" level by level. Returns the
 * number of levels given, or -1. */
static int parse_events(const char *spec, unsigned *levels)
{
	char *copy = strdup(spec), *save = NULL;
	int n = 0;

	for (char *t = strtok_r(copy, ":", &save); t;
	     t = strtok_r(NULL, ":", &save)) {
		if (n == SCHEDULE_MAX_DEPTH) {
			fprintf(stderr,
				"ist-torture: --events names more than %d "
				"levels\n",
				SCHEDULE_MAX_DEPTH);
			n = -1;
			break;
		}
		if (parse_event_set(t, &levels[n])) {
			n = -1;
			break;
		}
		n++;
	}
	free(copy);
	if (n == 0) {
		fprintf(stderr, "ist-torture: --events is empty; known: %s\n",
			injector_names());
		n = -1;
	}
	return n;
}

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{"stub", required_argument, NULL, 's'},
		{"stub-file", required_argument, NULL, 'f'},
		{"events", required_argument, NULL, 'e'},
		{"depth", required_argument, NULL, 'd'},
		{"at", required_argument, NULL, 'a'},
		{"exec", required_argument, NULL, 'x'},
		{"db-method", required_argument, NULL, 'm'},
		{"seed", required_argument, NULL, 'S'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"guest-dir", required_argument, NULL, 'g'},
		{"kvm", required_argument, NULL, 'k'},
		{"backend", required_argument, NULL, 'b'},
		{"crash-dir", required_argument, NULL, 'C'},
		{"trace", no_argument, NULL, 'T'},
		{"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int depth_given = 0, nlevels = 0;
	uint64_t n = 0;
	int c;

	memset(cli, 0, sizeof(*cli));
	cli->stubs = "all";
	cli->guest_dir = getenv("IST_GUEST_DIR") ? getenv("IST_GUEST_DIR")
						 : IST_DEFAULT_GUEST_DIR;
	cli->kvm_device = getenv("IST_KVM_DEVICE") ? getenv("IST_KVM_DEVICE")
						   : "/dev/kvm";
	cli->opt.seed = 1;
	cli->opt.timeout_ms = TRIAL_TIMEOUT_MS;
	cli->opt.depth = 2;
	cli->opt.db_method = DB_BY_PAYLOAD;
	cli->crash_dir = "crashes";

	if (argc < 2) {
		usage(stderr);
		return -1;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		exit(EXIT_AS_DECLARED);
	}
	cli->command = argv[1];
	if (strcmp(cli->command, "list") && strcmp(cli->command, "sweep") &&
	    strcmp(cli->command, "replay") &&
	    strcmp(cli->command, "minimize")) {
		fprintf(stderr,
			"ist-torture: unknown command '%s'; commands: list, "
			"sweep, replay, minimize (see ist-torture --help)\n",
			cli->command);
		return -1;
	}
	optind = 2;
	opterr = 0; /* one line per error: ours */
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			cli->stubs = optarg;
			break;
		case 'f':
			cli->stub_file = optarg;
			break;
		case 'C':
			cli->crash_dir = optarg;
			break;
		case 'T':
			cli->trace = 1;
			break;
		case 'J':
			cli->json = 1;
			break;
		case 'e':
			nlevels = parse_events(optarg, cli->opt.events);
			if (nlevels < 0)
				return -1;
			break;
		case 'd':
			if (parse_number("--depth", optarg, SCHEDULE_MAX_DEPTH,
					 &n))
				return -1;
			if (n == 0) {
				fprintf(stderr, "ist-torture: --depth must be "
						"at least 1\n");
				return -1;
			}
			cli->opt.depth = (int)n;
			depth_given = 1;
			break;
		case 'a':
			cli->opt.at = optarg;
			break;
		case 'x':
			if (parse_number("--exec", optarg, 1000000, &n))
				return -1;
			cli->opt.exec = (unsigned)n;
			break;
		case 'm':
			cli->db_method_given = 1;
			if (!strcmp(optarg, "payload")) {
				cli->opt.db_method = DB_BY_PAYLOAD;
			} else if (!strcmp(optarg, "dr")) {
				cli->opt.db_method = DB_BY_GUEST_DR;
			} else {
				fprintf(stderr,
					"ist-torture: --db-method is payload "
					"or "
					"dr, not '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'S':
			if (parse_number("--seed", optarg, UINT64_MAX, &n))
				return -1;
			cli->opt.seed = n;
			break;
		case 't':
			if (parse_number("--timeout-ms", optarg, 600000, &n))
				return -1;
			if (n == 0) {
				fprintf(stderr,
					"ist-torture: --timeout-ms must "
					"be at least 1\n");
				return -1;
			}
			cli->opt.timeout_ms = (unsigned)n;
			break;
		case 'g':
			cli->guest_dir = optarg;
			break;
		case 'k':
			cli->kvm_device = optarg;
			if (cli->backend == BACKEND_AUTO)
				cli->backend = BACKEND_KVM;
			break;
		case 'b':
			if (!strcmp(optarg, "kvm")) {
				cli->backend = BACKEND_KVM;
			} else if (!strcmp(optarg, "qemu")) {
				cli->backend = BACKEND_QEMU;
			} else if (!strcmp(optarg, "auto")) {
				cli->backend = BACKEND_AUTO;
			} else {
				fprintf(stderr,
					"ist-torture: --backend is kvm, qemu "
					"or auto, not '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_AS_DECLARED);
		default:
			fprintf(stderr,
				"ist-torture: unknown option or missing value "
				"'%s'; see ist-torture --help\n",
				argv[optind - 1]);
			return -1;
		}
	}
	/* Levels of --events: a single set serves every level; per-level
	 * sets fix the depth unless --depth says otherwise, and the last set
	 * serves the levels beyond them. */
	cli->events_given = nlevels > 0;
	if (nlevels == 0) {
		cli->opt.events[0] = (1u << EVENT_KIND_COUNT) - 1;
		nlevels = 1;
	}
	if (nlevels > 1 && !depth_given)
		cli->opt.depth = nlevels;
	for (int d = nlevels; d < SCHEDULE_MAX_DEPTH; d++)
		cli->opt.events[d] = cli->opt.events[nlevels - 1];
	if (!strcmp(cli->command, "replay") ||
	    !strcmp(cli->command, "minimize")) {
		cli->files = argv + optind;
		cli->nfiles = argc - optind;
		if (!cli->nfiles) {
			fprintf(stderr,
				"ist-torture: %s wants crash files "
				"(ist-torture %s FILE...)\n",
				cli->command, cli->command);
			return -1;
		}
	} else if (optind < argc) {
		fprintf(stderr,
			"ist-torture: unexpected argument '%s' (see "
			"ist-torture --help)\n",
			argv[optind]);
		return -1;
	}
	if (strcmp(cli->crash_dir, "none") == 0)
		cli->crash_dir = NULL;
	if (cli->stub_file && strcmp(cli->stubs, "all")) {
		fprintf(stderr, "ist-torture: --stub-file sweeps that file "
				"alone; leave out --stub\n");
		return -1;
	}
	return 0;
}

static int cmd_list(const struct catalogue *cat)
{
	for (size_t i = 0; i < cat->n; i++) {
		struct guest_image img;
		struct guest_layout lay;
		char path[4096], err[400];

		catalogue_path(cat, i, path, sizeof(path));
		if (image_load(path, &img, err, sizeof(err))) {
			printf("%-14s (unreadable: %s)\n", cat->names[i], err);
			continue;
		}
		if (guest_layout_read(&img, &lay, err, sizeof(err)))
			printf("%-14s (not a stub: %s)\n", cat->names[i], err);
		else
			printf("%-14s %s\n", cat->names[i], lay.info);
		image_free(&img);
	}
	return EXIT_AS_DECLARED;
}

/* Marks the stubs named in --stub; -1 if one is unknown. */
static int select_stubs(const struct catalogue *cat, const char *list,
			char *selected)
{
	char *copy, *save = NULL, known[2048];
	int rc = 0;

	if (!strcmp(list, "all")) {
		memset(selected, 1, cat->n);
		return 0;
	}
	memset(selected, 0, cat->n);
	copy = strdup(list);
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		int i = catalogue_find(cat, t);
		if (i < 0) {
			fprintf(stderr,
				"ist-torture: unknown stub '%s'; known stubs: "
				"%s\n",
				t, catalogue_names(cat, known, sizeof(known)));
			rc = -1;
			break;
		}
		selected[i] = 1;
	}
	free(copy);
	if (!rc && !memchr(selected, 1, cat->n)) {
		fprintf(stderr,
			"ist-torture: --stub '%s' names no stub; known stubs: "
			"%s\n",
			list, catalogue_names(cat, known, sizeof(known)));
		rc = -1;
	}
	return rc;
}

/* KVM, or QEMU: by --backend, or KVM when its device opens and QEMU when
 * it does not (saying so on stderr). One line on stderr when neither. */
static int open_backend(const struct cli *cli, struct vm **vm)
{
	char err[400], qerr[400];
	enum vm_open_error rc;

	*vm = NULL;
	if (cli->backend != BACKEND_QEMU) {
		rc = vm_open(cli->kvm_device, IST_GUEST_MEM_SIZE, vm, err,
			     sizeof(err));
		if (rc == VM_OK)
			return 0;
		if (cli->backend == BACKEND_KVM) {
			fprintf(stderr, "ist-torture: %s\n", err);
			return -1;
		}
	}
	if (vm_open_qemu(IST_GUEST_MEM_SIZE, vm, qerr, sizeof(qerr)) != VM_OK) {
		if (cli->backend == BACKEND_QEMU)
			fprintf(stderr, "ist-torture: %s\n", qerr);
		else
			fprintf(stderr,
				"ist-torture: no usable back end: %s; and %s\n",
				err, qerr);
		return -1;
	}
	if (cli->backend == BACKEND_AUTO)
		fprintf(stderr,
			"ist-torture: %s; sweeping on QEMU instead (slower; "
			"#DB by the guest's DR0)\n",
			err);
	return 0;
}

/* What the back end cannot sweep: asked for explicitly, it is bad usage;
 * left to the defaults, it is left out and the header shows what is
 * swept. */
static int fit_to_backend(struct vm *vm, const struct cli *cli,
			  struct sweep_options *opt)
{
	unsigned can = vm_features(vm);
	unsigned db = 1u << EVENT_DB;
	int db_ok;

	*opt = cli->opt;
	if (!cli->db_method_given && !(can & VM_CAN_DB_PAYLOAD) &&
	    (can & VM_CAN_GUEST_DR))
		opt->db_method = DB_BY_GUEST_DR;
	db_ok = opt->db_method == DB_BY_PAYLOAD ? !!(can & VM_CAN_DB_PAYLOAD)
						: !!(can & VM_CAN_GUEST_DR);
	for (int d = 0; d < opt->depth && !db_ok; d++) {
		if (!(opt->events[d] & db))
			continue;
		if (cli->events_given || cli->db_method_given) {
			fprintf(stderr,
				"ist-torture: #DB by %s needs a back end "
				"that can %s; %s cannot (use --db-method %s)\n",
				opt->db_method == DB_BY_PAYLOAD ? "payload"
								: "dr",
				opt->db_method == DB_BY_PAYLOAD
					? "inject it (KVM)"
					: "set the guest's debug registers",
				vm_backend(vm),
				opt->db_method == DB_BY_PAYLOAD ? "dr"
								: "payload");
			return -1;
		}
		opt->events[d] &= ~db;
	}
	return 0;
}

static int cmd_sweep(const struct cli *cli, const struct catalogue *cat)
{
	char *selected = calloc(cat->n, 1);
	int status = EXIT_AS_DECLARED, bad_input = 0;
	struct sweep_options opt;
	struct vm *vm;

	if (select_stubs(cat, cli->stubs, selected)) {
		free(selected);
		return EXIT_USAGE;
	}
	if (open_backend(cli, &vm) || fit_to_backend(vm, cli, &opt)) {
		vm_close(vm);
		free(selected);
		return EXIT_USAGE;
	}
	opt.crash_dir = cli->crash_dir;
	report_header(stdout, vm_backend(vm), &opt);
	for (size_t i = 0; i < cat->n; i++) {
		struct stub_sweep s;
		char path[4096];
		int harness_error;

		if (!selected[i])
			continue;
		catalogue_path(cat, i, path, sizeof(path));
		if (sweep_stub(vm, cat->names[i], path, &opt, &s,
			       &harness_error) &&
		    !harness_error) {
			/* Not loadable is bad input; loadable but failing
			 * without injection is the stub's failure. */
			if (!s.loaded && !s.golden_failed)
				bad_input = 1;
			else if (status == EXIT_AS_DECLARED)
				status = EXIT_NOT_AS_DECLARED;
		}
		report_stub(stdout, &s);
		fflush(stdout);
		if (harness_error)
			status = EXIT_HARNESS;
		else if (s.not_as_declared && status == EXIT_AS_DECLARED)
			status = EXIT_NOT_AS_DECLARED;
		stub_sweep_free(&s);
	}
	if (bad_input && status != EXIT_HARNESS)
		status = EXIT_USAGE;
	printf("result: %s\n",
	       status == EXIT_AS_DECLARED
		       ? "every stub got the verdicts it declares"
	       : status == EXIT_HARNESS
		       ? "HARNESS ERROR (not the stubs' fault; see above)"
	       : status == EXIT_USAGE
		       ? "a stub file could not be read as a stub (see above)"
		       : "some stub did NOT get the verdicts it declares");
	vm_close(vm);
	free(selected);
	return status;
}

/* replay --trace: the run again from where the last event lands, traced
 * boundary by boundary. */
/* --json: the trace goes into a buffer, to sit inside the file's object. */
struct trace_out {
	int json;
	char *buf;
	size_t len;
};

static void print_trace(void *ctx, struct vm *vm, const struct stub_sweep *s,
			const struct boundary *at, const struct injection *inj)
{
	struct trace_out *to = ctx;
	struct trace t;
	char err[400];

	if (trace_to_end(vm, &s->img, &s->lay, at, inj, &t, err, sizeof(err))) {
		if (!to->json)
			printf("  (no trace: %s)\n", err);
		return;
	}
	if (to->json) {
		FILE *m = open_memstream(&to->buf, &to->len);

		if (m) {
			trial_trace_json(m, &s->img, &s->lay, &t);
			fclose(m);
		}
		trace_free(&t);
		return;
	}
	{
		char where[160];

		printf("  trace: the %s raised at %s, to the end of the run "
		       "(each line: boundary, instruction, what it changed)\n",
		       injector_for(inj->kind)->name,
		       image_format_addr(&s->img, at->addr, where,
					 sizeof(where)));
	}
	trial_trace_print(stdout, &s->img, &s->lay, &t);
	trace_free(&t);
}

/* What a replay found, in words: reproduced, gone, or different. */
static void replay_text(const struct cli *cli, const char *file,
			const struct crash *c, const struct verdict *v)
{
	if (cli->trace && v->ndiffs) {
		printf("  divergence, field by field:\n  %-28s %-20s %s\n",
		       "field", "expected", "observed");
		for (int k = 0; k < v->ndiffs; k++)
			printf("  %-28s 0x%016llx   0x%016llx\n",
			       v->diffs[k].field,
			       (unsigned long long)v->diffs[k].expected,
			       (unsigned long long)v->diffs[k].observed);
	}
	if (v->kind == c->verdict)
		printf("%s: reproduced: %s (%s)\n", file,
		       verdict_name(c->verdict), v->summary);
	else if (v->kind == VERDICT_PASS)
		printf("%s: no longer reproduces: it passes now (recorded "
		       "%s); the bug looks fixed\n",
		       file, verdict_name(c->verdict));
	else
		printf("%s: reproduces differently: recorded %s, now %s "
		       "(%s)\n",
		       file, verdict_name(c->verdict), verdict_name(v->kind),
		       v->summary);
}

/* The same as one JSON object on one line (docs/crash-format.md). */
static void replay_json(const char *file, const struct crash *c,
			const struct verdict *v, const char *trace)
{
	printf("{\"file\":");
	json_string(stdout, file);
	printf(",\"stub\":");
	json_string(stdout, c->stub);
	printf(",\"recorded\":\"%s\",\"now\":\"%s\",\"result\":\"%s\","
	       "\"summary\":",
	       verdict_name(c->verdict), verdict_name(v->kind),
	       v->kind == c->verdict	 ? "reproduced"
	       : v->kind == VERDICT_PASS ? "fixed"
					 : "different");
	json_string(stdout, v->summary);
	printf(",\"diffs\":[");
	for (int k = 0; k < v->ndiffs; k++) {
		printf("%s{\"field\":", k ? "," : "");
		json_string(stdout, v->diffs[k].field);
		printf(",\"expected\":\"0x%llx\",\"observed\":\"0x%llx\"}",
		       (unsigned long long)v->diffs[k].expected,
		       (unsigned long long)v->diffs[k].observed);
	}
	printf("],\"trace\":%s}\n", trace ? trace : "null");
}

/* A crash file, read and resolved against its stub: the schedule and the
 * stub's path. EXIT_AS_DECLARED, or EXIT_USAGE (said) for a file it
 * cannot use. */
static int load_crash(const struct cli *cli, const struct catalogue *cat,
		      struct vm *vm, const char *file, struct crash *c,
		      struct schedule *sched, char *path, size_t pathlen)
{
	struct guest_image img;
	char err[700];
	size_t i;

	if (crash_parse(file, c, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		return EXIT_USAGE;
	}
	for (i = 0; i < cat->n && strcmp(cat->names[i], c->stub); i++)
		;
	if (i == cat->n) {
		fprintf(stderr,
			"ist-torture: %s: no stub '%s' in %s (see "
			"ist-torture list)\n",
			file, c->stub, cli->guest_dir);
		return EXIT_USAGE;
	}
	catalogue_path(cat, i, path, pathlen);
	if (image_load(path, &img, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		return EXIT_USAGE;
	}
	if (crash_image_hash(&img) != c->image_hash)
		fprintf(stderr,
			"ist-torture: warning: %s: stub %s changed since the "
			"file was written (image fnv1a64:%016llx, now "
			"%016llx); replaying it anyway\n",
			file, c->stub, (unsigned long long)c->image_hash,
			(unsigned long long)crash_image_hash(&img));
	if (crash_resolve(c, &img, sched, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		image_free(&img);
		return EXIT_USAGE;
	}
	image_free(&img);
	if (c->db_by_guest_dr == 0 && !(vm_features(vm) & VM_CAN_DB_PAYLOAD)) {
		for (int k = 0; k < sched->depth; k++)
			if (sched->step[k].inj.kind == EVENT_DB) {
				fprintf(stderr,
					"ist-torture: %s: its #DB was raised "
					"by payload, which %s cannot do: "
					"replay it on KVM\n",
					file, vm_backend(vm));
				return EXIT_USAGE;
			}
	}
	return EXIT_AS_DECLARED;
}

static int replay_one(const struct cli *cli, const struct catalogue *cat,
		      struct vm *vm, const char *file)
{
	struct sweep_options opt = cli->opt;
	struct trace_out to = {cli->json, NULL, 0};
	struct schedule sched;
	struct stub_sweep s;
	struct crash c;
	char path[4096];
	int harness_error, status = EXIT_AS_DECLARED;

	if (load_crash(cli, cat, vm, file, &c, &sched, path, sizeof(path)))
		return EXIT_USAGE;
	opt.seed = c.seed;
	opt.depth = sched.depth;
	opt.db_method = c.db_by_guest_dr ? DB_BY_GUEST_DR : DB_BY_PAYLOAD;
	opt.only = &sched;
	opt.only_done = cli->trace || cli->json ? print_trace : NULL;
	opt.only_ctx = &to;
	opt.crash_dir = NULL;
	opt.at = NULL;
	opt.exec = 0;
	if (sweep_stub(vm, c.stub, path, &opt, &s, &harness_error) ||
	    !s.only_tried || s.only_verdict.kind == VERDICT_HARNESS_ERROR) {
		const char *why = s.only_tried ? s.only_verdict.summary
				  : s.error[0] ? s.error
					       : "the schedule's boundaries "
						 "were not reached";
		if (cli->json) {
			printf("{\"file\":");
			json_string(stdout, file);
			printf(",\"result\":\"harness-error\",\"why\":");
			json_string(stdout, why);
			printf("}\n");
		} else {
			printf("%s: HARNESS ERROR: %s\n", file, why);
		}
		free(to.buf);
		stub_sweep_free(&s);
		return EXIT_HARNESS;
	}
	if (s.only_verdict.kind != c.verdict)
		status = EXIT_NOT_AS_DECLARED;
	if (cli->json)
		replay_json(file, &c, &s.only_verdict, to.buf);
	else
		replay_text(cli, file, &c, &s.only_verdict);
	free(to.buf);
	stub_sweep_free(&s);
	return status;
}

/* Is a smaller than b: fewer injections, then, level by level, an earlier
 * execution, then a lower address? */
static int schedule_smaller(const struct schedule *a, const struct schedule *b)
{
	if (a->depth != b->depth)
		return a->depth < b->depth;
	for (int k = 0; k < a->depth; k++) {
		if (a->step[k].exec != b->step[k].exec)
			return a->step[k].exec < b->step[k].exec;
		if (a->step[k].addr != b->step[k].addr)
			return a->step[k].addr < b->step[k].addr;
	}
	return 0;
}

/* The smallest schedule with the file's signature among those whose
 * injections fall, level by level, in the same windows (the symbols its
 * boundaries are named after), prefixes included. Written beside the
 * file as NAME.min.crash. */
static int minimize_one(const struct cli *cli, const struct catalogue *cat,
			struct vm *vm, const char *file)
{
	struct sweep_options opt = cli->opt;
	const struct sweep_record *best = NULL;
	struct schedule sched;
	struct stub_sweep s;
	struct crash c;
	char path[4096], at[1024] = "", out[4200], err[400], want[17], sig[17];
	char before[600], after[600];
	int harness_error;
	size_t len;

	if (load_crash(cli, cat, vm, file, &c, &sched, path, sizeof(path)))
		return EXIT_USAGE;
	opt.seed = c.seed;
	opt.depth = sched.depth;
	opt.db_method = c.db_by_guest_dr ? DB_BY_GUEST_DR : DB_BY_PAYLOAD;
	opt.crash_dir = NULL;
	opt.exec = 0;
	opt.max_records = 1000000;
	{
		struct guest_image img;

		if (image_load(path, &img, err, sizeof(err))) {
			fprintf(stderr, "ist-torture: %s\n", err);
			return EXIT_USAGE;
		}
		for (int k = 0; k < sched.depth; k++) {
			const struct guest_symbol *sym =
				image_symbol_at(&img, sched.step[k].addr);

			snprintf(at + strlen(at), sizeof(at) - strlen(at),
				 "%s%s", k ? " > " : "", sym ? sym->name : "?");
			opt.events[k] = 1u << sched.step[k].inj.kind;
		}
		image_free(&img);
	}
	opt.at = at;
	/* The file's own schedule first: the signature to keep. */
	{
		struct sweep_options one = opt;

		one.only = &sched;
		one.at = NULL;
		if (sweep_stub(vm, c.stub, path, &one, &s, &harness_error) ||
		    !s.only_tried) {
			printf("%s: HARNESS ERROR: %s\n", file, s.error);
			stub_sweep_free(&s);
			return EXIT_HARNESS;
		}
		for (size_t i = 0; i < s.nrecords && !best; i++)
			if (s.records[i].sched.depth == sched.depth)
				best = &s.records[i];
		if (!best || s.only_verdict.kind == VERDICT_PASS) {
			printf("%s: nothing to minimize: it does not fail now "
			       "(the bug looks fixed)\n",
			       file);
			stub_sweep_free(&s);
			return EXIT_NOT_AS_DECLARED;
		}
		crash_signature(c.stub, &s.img, &best->sched, &best->verdict,
				want);
		schedule_format(&s.img, &best->sched, before, sizeof(before));
		stub_sweep_free(&s);
		best = NULL;
	}
	if (sweep_stub(vm, c.stub, path, &opt, &s, &harness_error)) {
		printf("%s: HARNESS ERROR: %s\n", file, s.error);
		stub_sweep_free(&s);
		return EXIT_HARNESS;
	}
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct sweep_record *r = &s.records[i];

		if (r->assumption || r->verdict.kind == VERDICT_HARNESS_ERROR)
			continue;
		crash_signature(c.stub, &s.img, &r->sched, &r->verdict, sig);
		if (!strcmp(sig, want) &&
		    (!best || schedule_smaller(&r->sched, &best->sched)))
			best = r;
	}
	if (!best) {
		printf("%s: HARNESS ERROR: the failure did not come back among "
		       "its windows' schedules\n",
		       file);
		stub_sweep_free(&s);
		return EXIT_HARNESS;
	}
	len = strlen(file);
	snprintf(out, sizeof(out), "%.*s.min.crash",
		 (int)(len > 6 && !strcmp(file + len - 6, ".crash") ? len - 6
								    : len),
		 file);
	if (crash_write_file(out, c.stub, &s.img, c.seed, c.db_by_guest_dr,
			     &best->sched, &best->verdict, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		stub_sweep_free(&s);
		return EXIT_USAGE;
	}
	schedule_format(&s.img, &best->sched, after, sizeof(after));
	printf("%s: minimized to %s\n  was: %s\n  now: %s  (%s, signature "
	       "%s kept)\n",
	       file, out, before, after, verdict_name(best->verdict.kind),
	       want);
	stub_sweep_free(&s);
	return EXIT_AS_DECLARED;
}

static int cmd_replay(const struct cli *cli, const struct catalogue *cat)
{
	int status = EXIT_AS_DECLARED;
	struct vm *vm;

	if (open_backend(cli, &vm))
		return EXIT_USAGE;
	for (int i = 0; i < cli->nfiles; i++) {
		int rc = !strcmp(cli->command, "minimize")
				 ? minimize_one(cli, cat, vm, cli->files[i])
				 : replay_one(cli, cat, vm, cli->files[i]);

		if (rc > status)
			status = rc;
		fflush(stdout);
	}
	vm_close(vm);
	return status;
}

int main(int argc, char **argv)
{
	struct stub_build own = {0};
	struct catalogue cat;
	struct cli cli;
	char err[600];
	int status;

	if (parse_cli(argc, argv, &cli))
		return EXIT_USAGE;
	/* A user's stub is built into a directory of its own, which then is
	 * the catalogue. */
	if (cli.stub_file) {
		if (stub_build(cli.stub_file, &own, err, sizeof(err))) {
			fprintf(stderr, "ist-torture: %s\n", err);
			return EXIT_USAGE;
		}
		cli.guest_dir = own.dir;
	}
	if (catalogue_read(cli.guest_dir, &cat, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		stub_build_remove(&own);
		return EXIT_USAGE;
	}
	if (!strcmp(cli.command, "list"))
		status = cmd_list(&cat);
	else if (!strcmp(cli.command, "replay") ||
		 !strcmp(cli.command, "minimize"))
		status = cmd_replay(&cli, &cat);
	else
		status = cmd_sweep(&cli, &cat);
	catalogue_free(&cat);
	stub_build_remove(&own);
	return status;
}
