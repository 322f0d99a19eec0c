/* ist-torture: the command line, parsed; each command is in its own file
 * (cmd_*.c), the exit codes in cli.h. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "stub_build.h"
#include "trial.h"

#ifndef IST_DEFAULT_GUEST_DIR
#define IST_DEFAULT_GUEST_DIR "guest"
#endif

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
		"  crosscheck --stub NAME  the same schedules on two back "
		"ends (--backends\n"
		"           A,B; default kvm,qemu; depth 1 unless --depth): "
		"each schedule\n"
		"           whose verdict or delivered events differ, field by "
		"field\n"
		"  merge STATE...  one report from the states of shards "
		"(sweep\n"
		"           --resume): --junit, --json, --coverage as sweep's\n"
		"  fuzz     libFuzzer over one stub's nested schedules (--stub "
		"NAME,\n"
		"           --time SECONDS, --jobs N), guided by the guest's "
		"coverage\n"
		"           (docs/fuzzing.md)\n"
		"  coverage MAP...  each stub's entry text, instruction by\n"
		"           instruction, marked with what was tried at each "
		"depth\n"
		"           and its window, then a summary (docs/ci.md)\n"
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
		"  --backend B        kvm, qemu, qemu-kvm or auto (default): "
		"KVM\n"
		"                     when its device opens, else QEMU\n"
		"                     (TCG: slower; #DB by dr only); "
		"qemu-kvm:\n"
		"                     QEMU with -accel kvm (experimental)\n"
		"  --kvm PATH         KVM device (default: /dev/kvm, or\n"
		"                     $IST_KVM_DEVICE)\n"
		"  --crash-dir DIR    sweep: a crash file per distinct "
		"failure\n"
		"                     (default: crashes); 'none': no files\n"
		"  --junit FILE       sweep, merge: JUnit XML for CI\n"
		"  --json FILE        sweep, merge: JSON report (docs/ci.md); "
		"coverage:\n"
		"                     the map as JSON (replay --json: JSON "
		"output)\n"
		"  --coverage MAP     sweep, replay, merge, fuzz: the coverage "
		"map\n"
		"  --merge            sweep, replay: add to the MAP instead\n"
		"  --merge OUT        coverage: write the maps merged into "
		"OUT\n"
		"  --lcov FILE        coverage: lcov tracefile over the stubs' "
		"sources\n"
		"  --html DIR         coverage: HTML report (genhtml)\n"
		"  --shard K/N        sweep: the K-th of N disjoint parts of "
		"the schedules\n"
		"  --time-budget S    sweep: stop cleanly after S seconds\n"
		"  --resume STATE     sweep: go on from STATE if it exists, "
		"and "
		"keep\n"
		"                     the state there (SIGINT/SIGTERM stop "
		"cleanly)\n"
		"  --time S           fuzz: stop after S seconds (default: "
		"60)\n"
		"  -j, --jobs N       sweep: N workers, one VM each, merged "
		"into one report;\n"
		"                     fuzz: N processes (libFuzzer's fork "
		"mode)\n"
		"  --reference-restore  the slow reference path: every "
		"restore writes all\n"
		"                     writable pages and each register set "
		"by its own ioctl\n"
		"                     (verdicts must not change; for "
		"testing the fast path)\n"
		"  --gdb [PORT]       replay: stop on the first instruction of "
		"the handler of\n"
		"                     the schedule's last event and wait for "
		"gdb on\n"
		"                     127.0.0.1:PORT (default 1234; QEMU; one "
		"crash file)\n"
		"  -h, --help         this text\n"
		"\n"
		"exit codes: 0 every stub got the verdicts it declares "
		"(replay: "
		"every\n"
		"            file reproduced); 1 unexpected failures; 2 bad "
		"usage or\n"
		"            input, or no usable back end; 3 harness error; "
		"4 a buggy\n"
		"            stub no longer fails where it declares a "
		"failure\n",
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

static int is_replay(const char *command)
{
	return !strcmp(command, "replay") || !strcmp(command, "minimize");
}

/* What a command's arguments are, or NULL when it takes none. */
static const char *takes_files(const char *command)
{
	return is_replay(command) ? "crash files (ist-torture replay FILE...)"
	       : !strcmp(command, "merge")
		       ? "sweep states (ist-torture merge STATE...)"
	       : !strcmp(command, "coverage")
		       ? "coverage maps (ist-torture coverage MAP...)"
		       : NULL;
}

/* An option given to a command it means nothing to: said, not ignored. */
static int misplaced_option(const struct cli *cli)
{
	const char *c = cli->command;
	int sweep = !strcmp(c, "sweep"), merge = !strcmp(c, "merge");
	const char *bad = NULL;

	if (cli->junit && !sweep && !merge)
		bad = "--junit";
	else if (cli->coverage && !sweep && !merge && !is_replay(c) &&
		 strcmp(c, "fuzz"))
		bad = "--coverage";
	else if (cli->json_out && !sweep && !merge && strcmp(c, "coverage"))
		bad = "--json FILE";
	else if ((cli->shard || cli->resume ||
		  (cli->time_budget && !cli->fuzz_time_given)) &&
		 !sweep)
		bad = cli->shard    ? "--shard"
		      : cli->resume ? "--resume"
				    : "--time-budget";
	else if (cli->jobs && strcmp(c, "fuzz") && !sweep)
		bad = "--jobs";
	else if (cli->fuzz_time_given && strcmp(c, "fuzz"))
		bad = "--time";
	else if ((cli->lcov || cli->html || cli->merge_out) &&
		 strcmp(c, "coverage"))
		bad = cli->lcov ? "--lcov" : cli->html ? "--html" : "--merge";
	else if (cli->merge && !cli->coverage)
		bad = "--merge without --coverage";
	else if (cli->gdb_port && strcmp(c, "replay"))
		bad = "--gdb";
	else if (cli->backends && strcmp(c, "crosscheck"))
		bad = "--backends";
	if (bad)
		fprintf(stderr,
			"ist-torture: %s means nothing to %s (see ist-torture "
			"--help)\n",
			bad, c);
	return bad != NULL;
}

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	struct option longopts[] = {
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
		{"reference-restore", no_argument, NULL, 'Z'},
		{"gdb", optional_argument, NULL, 'D'},
		{"backends", required_argument, NULL, 'K'},
		{"trace", no_argument, NULL, 'T'},
		{"json", required_argument, NULL, 'J'},
		{"junit", required_argument, NULL, 'U'},
		{"coverage", required_argument, NULL, 'c'},
		{"merge", no_argument, NULL, 'M'},
		{"lcov", required_argument, NULL, 'L'},
		{"html", required_argument, NULL, 'H'},
		{"shard", required_argument, NULL, 'P'},
		{"time-budget", required_argument, NULL, 'B'},
		{"resume", required_argument, NULL, 'R'},
		{"time", required_argument, NULL, 'W'},
		{"jobs", required_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int depth_given = 0, nlevels = 0;
	char err[300];
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
	    strcmp(cli->command, "minimize") && strcmp(cli->command, "merge") &&
	    strcmp(cli->command, "coverage") && strcmp(cli->command, "fuzz") &&
	    strcmp(cli->command, "crosscheck")) {
		fprintf(stderr,
			"ist-torture: unknown command '%s'; commands: list, "
			"sweep, replay, minimize, merge, coverage, fuzz, "
			"crosscheck (see ist-torture --help)\n",
			cli->command);
		return -1;
	}
	/* replay --json is a format (to stdout); elsewhere it names a file.
	 * coverage --merge names the merged map's file; sweep --merge adds
	 * to the --coverage file. */
	for (struct option *o = longopts; o->name; o++) {
		if (!strcmp(o->name, "json"))
			o->has_arg = is_replay(cli->command)
					     ? no_argument
					     : required_argument;
		if (!strcmp(o->name, "merge"))
			o->has_arg = !strcmp(cli->command, "coverage")
					     ? required_argument
					     : no_argument;
	}
	optind = 2;
	opterr = 0; /* one line per error: ours */
	while ((c = getopt_long(argc, argv, "hj:", longopts, NULL)) != -1) {
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
			if (optarg)
				cli->json_out = optarg;
			else
				cli->json = 1;
			break;
		case 'U':
			cli->junit = optarg;
			break;
		case 'c':
			cli->coverage = optarg;
			break;
		case 'M':
			if (optarg)
				cli->merge_out = optarg;
			else
				cli->merge = 1;
			break;
		case 'L':
			cli->lcov = optarg;
			break;
		case 'H':
			cli->html = optarg;
			break;
		case 'P':
			cli->shard = optarg;
			break;
		case 'Z':
			cli->reference_restore = 1;
			break;
		case 'K':
			cli->backends = optarg;
			break;
		case 'D':
			cli->gdb_port = 1234;
			if (optarg && parse_number("--gdb", optarg, 65535, &n))
				return -1;
			if (optarg)
				cli->gdb_port = (unsigned)n;
			if (!cli->gdb_port) {
				fprintf(stderr, "ist-torture: --gdb takes a "
						"port from 1 to 65535\n");
				return -1;
			}
			break;
		case 'j':
			if (parse_number("--jobs", optarg, 256, &n))
				return -1;
			cli->jobs = (int)(n ? n : 1);
			break;
		case 'R':
			cli->resume = optarg;
			break;
		case 'W':
		case 'B': {
			char *end;

			cli->fuzz_time_given |= c == 'W';
			cli->time_budget = strtod(optarg, &end);
			if (end == optarg || *end || !(cli->time_budget > 0) ||
			    cli->time_budget > 1e9) {
				fprintf(stderr,
					"ist-torture: %s wants seconds, more "
					"than 0 (e.g. 3000 or 2.5), not '%s'\n",
					c == 'W' ? "--time" : "--time-budget",
					optarg);
				return -1;
			}
			break;
		}
		case 'e':
			cli->events_spec = optarg;
			nlevels = schedule_events_parse(optarg, cli->opt.events,
							err, sizeof(err));
			if (nlevels < 0) {
				fprintf(stderr, "ist-torture: --events: %s\n",
					err);
				return -1;
			}
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
			cli->depth_given = 1;
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
			} else if (!strcmp(optarg, "qemu-kvm")) {
				cli->backend = BACKEND_QEMU_KVM;
			} else if (!strcmp(optarg, "auto")) {
				cli->backend = BACKEND_AUTO;
			} else {
				fprintf(stderr,
					"ist-torture: --backend is kvm, qemu, "
					"qemu-kvm or auto, not '%s'\n",
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
	/* Two back ends, one of them QEMU: depth 1 unless asked. */
	else if (!depth_given && !strcmp(cli->command, "crosscheck"))
		cli->opt.depth = 1;
	for (int d = nlevels; d < SCHEDULE_MAX_DEPTH; d++)
		cli->opt.events[d] = cli->opt.events[nlevels - 1];
	if (takes_files(cli->command)) {
		cli->files = argv + optind;
		cli->nfiles = argc - optind;
		if (!cli->nfiles) {
			fprintf(stderr, "ist-torture: %s wants %s\n",
				cli->command, takes_files(cli->command));
			return -1;
		}
	} else if (optind < argc) {
		fprintf(stderr,
			"ist-torture: unexpected argument '%s' (see "
			"ist-torture --help)\n",
			argv[optind]);
		return -1;
	}
	/* replay FILE --gdb PORT: the port, written apart, is no file. */
	if (cli->gdb_port && cli->nfiles == 2 &&
	    strspn(cli->files[1], "0123456789") == strlen(cli->files[1]) &&
	    access(cli->files[1], F_OK) != 0) {
		if (parse_number("--gdb", cli->files[1], 65535, &n) || !n) {
			fprintf(stderr, "ist-torture: --gdb takes a port from "
					"1 to 65535\n");
			return -1;
		}
		cli->gdb_port = (unsigned)n;
		cli->nfiles = 1;
	}
	if (misplaced_option(cli))
		return -1;
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
int select_stubs(const struct catalogue *cat, const char *list, char *selected)
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
int open_backend(const struct cli *cli, struct vm **vm)
{
	char err[400], qerr[400];
	enum vm_open_error rc;

	*vm = NULL;
	if (cli->backend == BACKEND_QEMU_KVM) {
		if (vm_open_qemu_accel(IST_GUEST_MEM_SIZE, "kvm", vm, qerr,
				       sizeof(qerr)) != VM_OK) {
			fprintf(stderr, "ist-torture: %s\n", qerr);
			return -1;
		}
		vm_set_reference_restore(*vm, cli->reference_restore);
		return 0;
	}
	if (cli->backend != BACKEND_QEMU) {
		rc = vm_open(cli->kvm_device, IST_GUEST_MEM_SIZE, vm, err,
			     sizeof(err));
		if (rc == VM_OK) {
			vm_set_reference_restore(*vm, cli->reference_restore);
			return 0;
		}
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
	vm_set_reference_restore(*vm, cli->reference_restore);
	return 0;
}

/* What the back end cannot sweep: asked for explicitly, it is bad usage;
 * left to the defaults, it is left out and the header shows what is
 * swept. */
int fit_to_backend(struct vm *vm, const struct cli *cli,
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

int main(int argc, char **argv)
{
	struct stub_build own = {0};
	struct catalogue cat;
	struct cli cli;
	char err[600];
	int status;

	if (parse_cli(argc, argv, &cli))
		return EXIT_USAGE;
	if (!strcmp(cli.command, "merge"))
		return cmd_merge(&cli); /* states only: no stubs needed */
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
	else if (is_replay(cli.command))
		status = cmd_replay(&cli, &cat);
	else if (!strcmp(cli.command, "coverage"))
		status = cmd_coverage(&cli, &cat);
	else if (!strcmp(cli.command, "fuzz"))
		status = cmd_fuzz(&cli, &cat);
	else if (!strcmp(cli.command, "crosscheck"))
		status = cmd_crosscheck(&cli, &cat);
	else
		status = cmd_sweep(&cli, &cat);
	catalogue_free(&cat);
	stub_build_remove(&own);
	return status;
}
