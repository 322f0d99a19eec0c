/* The command line's shared parts: exit codes, the parsed options, and the
 * commands, one file each (cmd_*.c).
 *
 * Exit codes (README.md, "Exit codes"):
 *   0  every stub swept got exactly the verdicts its header declares
 *      (replay: every file reproduced)
 *   1  unexpected failures: a schedule failed where the stub declares a
 *      pass or another verdict, or a stub fails without any injection
 *   2  bad usage or input: unknown command, option or stub; a stub file,
 *      crash file, coverage map or sweep state that cannot be used; no
 *      usable back end; an event kind the back end cannot sweep
 *   3  harness error: the back end (KVM or QEMU) failed under the harness
 *      (never the stub's fault)
 *   4  a buggy stub no longer fails: a schedule the stub declares to fail
 *      passed, and nothing failed unexpectedly
 */
#ifndef IST_CLI_H
#define IST_CLI_H

#include "catalogue.h"
#include "sweep.h"

enum {
	EXIT_AS_DECLARED = 0,
	EXIT_NOT_AS_DECLARED = 1,
	EXIT_USAGE = 2,
	EXIT_HARNESS = 3,
	EXIT_NO_LONGER_FAILS = 4,
};

/* qemu-kvm: QEMU with -accel kvm, for a debugger on hardware-speed runs. */
enum backend_choice {
	BACKEND_AUTO,
	BACKEND_KVM,
	BACKEND_QEMU,
	BACKEND_QEMU_KVM
};

struct cli {
	const char *command;
	const char *stubs;
	const char *stub_file;
	const char *guest_dir;
	const char *kvm_device;
	const char *crash_dir;
	char **files; /* replay, minimize, merge, coverage */
	int nfiles;
	int trace;		 /* replay --trace */
	int json;		 /* replay --json */
	const char *json_out;	 /* sweep, merge, coverage --json FILE */
	const char *junit;	 /* sweep, merge --junit FILE */
	const char *coverage;	 /* sweep, merge --coverage MAP */
	int merge;		 /* sweep --coverage MAP --merge */
	const char *merge_out;	 /* coverage --merge OUT */
	const char *lcov, *html; /* coverage --lcov FILE, --html DIR */
	const char *resume;	 /* sweep --resume STATE */
	double time_budget; /* sweep --time-budget, fuzz --time SECONDS; 0: none
			     */
	int jobs;	    /* sweep -j N, fuzz --jobs N */
	int reference_restore;	 /* --reference-restore */
	unsigned gdb_port;	 /* replay --gdb [PORT]; 0: not asked */
	const char *backends;	 /* crosscheck --backends A,B */
	const char *events_spec; /* --events as given */
	int depth_given;
	int fuzz_time_given; /* time_budget came from fuzz --time */
	const char *shard;   /* "K/N" as given */
	enum backend_choice backend;
	int events_given;
	int db_method_given;
	struct sweep_options opt;
};

/* Marks the stubs named in a --stub list ("all" or NAME,...); -1 (said)
 * if one is unknown. */
int select_stubs(const struct catalogue *cat, const char *list, char *selected);
/* The back end --backend asks for; -1 (said) when there is none. */
int open_backend(const struct cli *cli, struct vm **vm);
/* The options, fitted to what the back end can sweep; -1 (said) when an
 * explicit request cannot be met. */
int fit_to_backend(struct vm *vm, const struct cli *cli,
		   struct sweep_options *opt);

int cmd_sweep(const struct cli *cli, const struct catalogue *cat);
int cmd_merge(const struct cli *cli);
int cmd_replay(const struct cli *cli, const struct catalogue *cat);
int cmd_coverage(const struct cli *cli, const struct catalogue *cat);
int cmd_fuzz(const struct cli *cli, const struct catalogue *cat);
int cmd_crosscheck(const struct cli *cli, const struct catalogue *cat);

#endif
