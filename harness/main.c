/* ist-torture: the command line.
 *
 * Exit codes (docs/exit-codes.md):
 *   0  every stub swept got exactly the verdicts its header declares
 *   1  some stub did not (an undeclared failure or pass), or could not be
 *      swept because it fails without any injection
 *   2  bad usage or environment: unknown command, option or stub; no usable
 *      /dev/kvm; no stub directory
 *   3  harness error: KVM failed under the harness (never the stub's fault)
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "report.h"
#include "sweep.h"
#include "trial.h"

#ifndef IST_DEFAULT_GUEST_DIR
#define IST_DEFAULT_GUEST_DIR "guest"
#endif

enum {
	EXIT_AS_DECLARED = 0,
	EXIT_NOT_AS_DECLARED = 1,
	EXIT_USAGE = 2,
	EXIT_HARNESS = 3
};

struct cli {
	const char *command;
	const char *stubs;
	const char *guest_dir;
	const char *kvm_device;
	struct sweep_options opt;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ist-torture <command> [options]\n"
		"\n"
		"commands:\n"
		"  list     list the stubs with what each declares\n"
		"  sweep    try an event at every instruction boundary of each "
		"stub's\n"
		"           entry text, judge each trial, print the report\n"
		"\n"
		"options:\n"
		"  --stub NAME[,NAME...]|all  stubs to sweep (default: all)\n"
		"  --events LIST      event kinds to inject, comma-separated "
		"(default: %s)\n"
		"  --seed N           workload seed (default: 1)\n"
		"  --timeout-ms N     wall-clock limit of one run before it is "
		"a hang\n"
		"                     (default: %d)\n"
		"  --guest-dir DIR    directory of stub ELFs (default: %s, or "
		"$IST_GUEST_DIR)\n"
		"  --kvm PATH         KVM device (default: /dev/kvm, or "
		"$IST_KVM_DEVICE)\n"
		"  -h, --help         this text\n"
		"\n"
		"exit codes: 0 every stub got the verdicts it declares; 1 some "
		"did not;\n"
		"            2 bad usage or no usable KVM; 3 harness error\n",
		injector_names(), TRIAL_TIMEOUT_MS, IST_DEFAULT_GUEST_DIR);
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

static int parse_events(const char *list, unsigned *mask)
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
		fprintf(stderr, "ist-torture: --events is empty; known: %s\n",
			injector_names());
		rc = -1;
	}
	return rc;
}

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{"stub", required_argument, NULL, 's'},
		{"events", required_argument, NULL, 'e'},
		{"seed", required_argument, NULL, 'S'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"guest-dir", required_argument, NULL, 'g'},
		{"kvm", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	uint64_t n;
	int c;

	memset(cli, 0, sizeof(*cli));
	cli->stubs = "all";
	cli->guest_dir = getenv("IST_GUEST_DIR") ? getenv("IST_GUEST_DIR")
						 : IST_DEFAULT_GUEST_DIR;
	cli->kvm_device = getenv("IST_KVM_DEVICE") ? getenv("IST_KVM_DEVICE")
						   : "/dev/kvm";
	cli->opt.seed = 1;
	cli->opt.timeout_ms = TRIAL_TIMEOUT_MS;
	cli->opt.events = (1u << EVENT_KIND_COUNT) - 1;

	if (argc < 2) {
		usage(stderr);
		return -1;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		exit(EXIT_AS_DECLARED);
	}
	cli->command = argv[1];
	if (strcmp(cli->command, "list") && strcmp(cli->command, "sweep")) {
		fprintf(stderr,
			"ist-torture: unknown command '%s'; commands: list, "
			"sweep (see ist-torture --help)\n",
			cli->command);
		return -1;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			cli->stubs = optarg;
			break;
		case 'e':
			if (parse_events(optarg, &cli->opt.events))
				return -1;
			break;
		case 'S':
			if (parse_number("--seed", optarg, UINT64_MAX, &n))
				return -1;
			cli->opt.seed = n;
			break;
		case 't':
			if (parse_number("--timeout-ms", optarg, 600000, &n) ||
			    n == 0) {
				if (n == 0)
					fprintf(stderr,
						"ist-torture: --timeout-ms "
						"must be at least 1\n");
				return -1;
			}
			cli->opt.timeout_ms = (unsigned)n;
			break;
		case 'g':
			cli->guest_dir = optarg;
			break;
		case 'k':
			cli->kvm_device = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_AS_DECLARED);
		default:
			fprintf(stderr,
				"ist-torture: see ist-torture --help\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"ist-torture: unexpected argument '%s' (see "
			"ist-torture --help)\n",
			argv[optind]);
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
	return rc;
}

static int cmd_sweep(const struct cli *cli, const struct catalogue *cat)
{
	char *selected = calloc(cat->n, 1);
	int status = EXIT_AS_DECLARED;
	char err[400];
	struct vm *vm;

	if (select_stubs(cat, cli->stubs, selected)) {
		free(selected);
		return EXIT_USAGE;
	}
	if (vm_open(cli->kvm_device, IST_GUEST_MEM_SIZE, &vm, err,
		    sizeof(err)) != VM_OK) {
		fprintf(stderr, "ist-torture: %s\n", err);
		free(selected);
		return EXIT_USAGE;
	}
	report_header(stdout, vm_backend(vm), &cli->opt);
	for (size_t i = 0; i < cat->n; i++) {
		struct stub_sweep s;
		char path[4096];
		int harness_error;

		if (!selected[i])
			continue;
		catalogue_path(cat, i, path, sizeof(path));
		if (sweep_stub(vm, cat->names[i], path, &cli->opt, &s,
			       &harness_error) &&
		    !harness_error && status == EXIT_AS_DECLARED)
			status = EXIT_NOT_AS_DECLARED;
		report_stub(stdout, &s);
		fflush(stdout);
		if (harness_error)
			status = EXIT_HARNESS;
		else if (s.not_as_declared && status == EXIT_AS_DECLARED)
			status = EXIT_NOT_AS_DECLARED;
		stub_sweep_free(&s);
	}
	printf("result: %s\n",
	       status == EXIT_AS_DECLARED
		       ? "every stub got the verdicts it declares"
	       : status == EXIT_HARNESS
		       ? "HARNESS ERROR (not the stubs' fault; see above)"
		       : "some stub did NOT get the verdicts it declares");
	vm_close(vm);
	free(selected);
	return status;
}

int main(int argc, char **argv)
{
	struct catalogue cat;
	struct cli cli;
	char err[600];
	int status;

	if (parse_cli(argc, argv, &cli))
		return EXIT_USAGE;
	if (catalogue_read(cli.guest_dir, &cat, err, sizeof(err))) {
		fprintf(stderr, "ist-torture: %s\n", err);
		return EXIT_USAGE;
	}
	if (!strcmp(cli.command, "list"))
		status = cmd_list(&cat);
	else
		status = cmd_sweep(&cli, &cat);
	catalogue_free(&cat);
	return status;
}
