/* ist-torture crosscheck: the same schedules of one stub on two back ends
 * (KVM and QEMU by default), every schedule's verdict and delivered-event
 * trace compared. A difference is an emulation difference of one of them
 * or a harness bug; the report says which fields differ, and where.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crosscheck.h"
#include "report.h"
#include "xalloc.h"

struct run {
	struct crosscheck_outcome *o;
	size_t n, cap;
	/* From the trial_done hook, consumed by the judged one that follows
	 * it for the same schedule. */
	struct crosscheck_outcome pending;
	int have_pending;
};

static void on_trial(void *ctx, struct vm *vm, const struct stub_sweep *s,
		     int level, const struct boundary *at,
		     const struct injection *inj, const struct observation *obs,
		     double seconds)
{
	struct run *r = ctx;
	uint64_t n =
		obs->log.count < IST_LOG_MAX ? obs->log.count : IST_LOG_MAX;

	(void)vm, (void)s, (void)level, (void)at, (void)inj, (void)seconds;
	memset(&r->pending, 0, sizeof(r->pending));
	r->pending.end = run_end_name(obs->end);
	r->pending.ndeliveries = (int)obs->log.count;
	for (uint64_t i = 0; i < n && i < CROSSCHECK_DELIVERIES; i++) {
		const struct ist_log_entry *e = &obs->log.entries[i];

		r->pending.delivery[i].vector = e->vector;
		r->pending.delivery[i].rip = e->regs.rip;
		r->pending.delivery[i].cs = e->regs.cs;
		r->pending.delivery[i].rflags = e->regs.rflags;
		r->pending.delivery[i].rsp = e->regs.rsp;
		r->pending.delivery[i].ss = e->regs.ss;
	}
	r->have_pending = 1;
}

static void on_judged(void *ctx, const struct stub_sweep *s,
		      const struct schedule *sc, const char *window,
		      const struct verdict *v, int as_declared,
		      const struct ist_assume *assumption)
{
	struct run *r = ctx;
	struct crosscheck_outcome *o;

	(void)window, (void)as_declared, (void)assumption;
	r->o = xgrow(r->o, &r->cap, r->n, sizeof(*r->o));
	o = &r->o[r->n++];
	if (r->have_pending)
		*o = r->pending;
	else /* a harness error: no run to compare */
		memset(o, 0, sizeof(*o));
	r->have_pending = 0;
	schedule_format(&s->img, sc, o->schedule, sizeof(o->schedule));
	snprintf(o->insn, sizeof(o->insn), "%s", sc->step[sc->depth - 1].insn);
	snprintf(o->verdict, sizeof(o->verdict), "%s", verdict_name(v->kind));
}

/* Sweeps the stub on one back end, every outcome into r. */
static int run_on(struct vm *vm, const struct catalogue *cat, size_t stub,
		  struct sweep_options opt, struct run *r)
{
	struct stub_sweep s;
	char path[4096];
	int harness_error;

	opt.trial_done = on_trial;
	opt.trial_done_ctx = r;
	opt.judged = on_judged;
	opt.judged_ctx = r;
	opt.crash_dir = NULL;
	catalogue_path(cat, stub, path, sizeof(path));
	if (sweep_stub(vm, cat->names[stub], path, &opt, &s, &harness_error)) {
		fprintf(stderr, "ist-torture: %s: %s\n", vm_backend(vm),
			s.error);
		stub_sweep_free(&s);
		return harness_error ? EXIT_HARNESS : EXIT_USAGE;
	}
	stub_sweep_free(&s);
	return 0;
}

/* One of the back ends by name; one line on stderr when it cannot open. */
static int open_named(const char *name, const struct cli *cli, struct vm **vm)
{
	char err[400];
	enum vm_open_error rc =
		!strcmp(name, "kvm")
			? vm_open(cli->kvm_device, IST_GUEST_MEM_SIZE, vm, err,
				  sizeof(err))
			: vm_open_qemu_accel(IST_GUEST_MEM_SIZE,
					     strcmp(name, "qemu") ? "kvm"
								  : "tcg",
					     vm, err, sizeof(err));

	if (rc != VM_OK) {
		fprintf(stderr,
			"ist-torture: crosscheck needs %s: %s (--backends "
			"qemu,qemu checks the harness against itself)\n",
			name, err);
		return -1;
	}
	return 0;
}

static int known_backend(const char *name)
{
	return !strcmp(name, "kvm") || !strcmp(name, "qemu") ||
	       !strcmp(name, "qemu-kvm");
}

int cmd_crosscheck(const struct cli *cli, const struct catalogue *cat)
{
	char names[2][16] = {"kvm", "qemu"}, desc[2][96];
	struct sweep_options opt[2];
	struct run run[2] = {{0}};
	size_t stub = cat->n, differ = 0, only = 0;
	int status = EXIT_AS_DECLARED;

	for (size_t k = 0; k < cat->n && cli->stubs; k++)
		if (!strcmp(cat->names[k], cli->stubs))
			stub = k;
	if (stub == cat->n) {
		fprintf(stderr,
			"ist-torture: crosscheck wants one stub of the "
			"catalogue: --stub NAME (see ist-torture list)\n");
		return EXIT_USAGE;
	}
	if (cli->backends &&
	    (sscanf(cli->backends, "%15[a-z-],%15[a-z-]", names[0], names[1]) !=
		     2 ||
	     strspn(cli->backends, "abcdefghijklmnopqrstuvwxyz-,") !=
		     strlen(cli->backends) ||
	     !known_backend(names[0]) || !known_backend(names[1]))) {
		fprintf(stderr,
			"ist-torture: --backends is two of kvm, qemu, qemu-kvm "
			"(e.g. kvm,qemu), not '%s'\n",
			cli->backends);
		return EXIT_USAGE;
	}
	/* One back end at a time: two QEMUs, or a KVM VM and a QEMU, would
	 * share the machine for nothing. Their options fitted to both. */
	for (int b = 0; b < 2; b++) {
		struct vm *vm;

		if (open_named(names[b], cli, &vm))
			return EXIT_USAGE;
		if (fit_to_backend(vm, cli, &opt[b])) {
			vm_close(vm);
			return EXIT_USAGE;
		}
		snprintf(desc[b], sizeof(desc[b]), "%s", vm_backend(vm));
		vm_close(vm);
	}
	for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++)
		opt[0].events[d] &= opt[1].events[d];
	if (opt[0].db_method != opt[1].db_method)
		opt[0].db_method = DB_BY_GUEST_DR; /* what QEMU can raise */
	printf("ist-torture crosscheck %s\n  A: %s\n  B: %s\n",
	       cat->names[stub], desc[0], desc[1]);
	report_options(stdout, &opt[0]);
	for (int b = 0; b < 2 && status == EXIT_AS_DECLARED; b++) {
		struct vm *vm;

		if (open_named(names[b], cli, &vm))
			return EXIT_USAGE;
		status = run_on(vm, cat, stub, opt[0], &run[b]);
		vm_close(vm);
	}
	if (status == EXIT_AS_DECLARED)
		differ = crosscheck_compare(stdout, run[0].o, run[0].n,
					    run[1].o, run[1].n, &only);
	if (status == EXIT_AS_DECLARED) {
		printf("\n%zu schedules on A, %zu on B: %zu differ, %zu run on "
		       "one only\n",
		       run[0].n, run[1].n, differ, only);
		printf("result: %s\n",
		       differ || only
			       ? "the back ends DISAGREE (an emulation "
				 "difference, or a harness bug)"
			       : "the back ends agree on every schedule");
		status = differ || only ? EXIT_NOT_AS_DECLARED
					: EXIT_AS_DECLARED;
	}
	free(run[0].o);
	free(run[1].o);
	return status;
}
