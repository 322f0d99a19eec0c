/* trial_rate: what one trial costs against its floor, measured in one run
 * on this machine, on either back end.
 *
 *   round trip     a guest loop "out; jmp" at CPL0: one exit per run (on
 *                  KVM a KVM_RUN; on QEMU a gdb continue and stop)
 *   CPL0 insn      the same loop with a 1000-iteration countdown in front,
 *                  minus the round trip, per instruction (near 0 on hardware
 *                  KVM; about 0.6 us on kvm_pvm, which emulates CPL0)
 *   step           one boundary of a nested trace recorded by breakpoint
 *                  stepping (what the stepper pays per boundary, once per
 *                  trace)
 *   restore        putting a snapshot back
 *   trial, depth d trial_run (restore, inject, gate check, run free to the
 *                  end, observe) of the depth-d trials of a sweep, timed one
 *                  by one through the sweep's trial_done hook; those that did
 *                  not run to the workload's end (hangs cost the time limit)
 *                  are counted apart, not averaged
 *   CPL0 insns     of a sample of those trials, counted by stepping each
 *                  again over every CPL0 instruction (breakpoints on the
 *                  decode's successors; entry points while at CPL3)
 *   floor          round trip + CPL0 insns x CPL0 insn: what no trial can go
 *                  below on this back end
 *
 * It prints ratios, never asserts on time: these machines are shared.
 *   usage: trial_rate [--backend kvm|qemu] [--json] [STUB]
 *          (default: kvm, linux)
 * Exit 1 when no trial of a depth ran to the workload's end (no figure),
 * 2 when the back end or the stub cannot be opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sweep.h"
#include "trial.h"

#define LOOP_GPA 0x1000
/* Depth 2 and 3 over every boundary are far too many trials for a
 * benchmark: the first injection at one boundary, and at depth 3 the
 * second at the NMI handler's second instruction. */
#define NARROW_2 "entry_SYSCALL_64_after_hwframe+0x0"
#define NARROW_3 NARROW_2 " > asm_exc_nmi+0x1"
#define EXITS	 20000
#define SAMPLES	 40 /* trials per depth whose instructions are counted */

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Runs code placed at LOOP_GPA (mapped at IST_KERNEL_VMA + LOOP_GPA by the
 * guest's page tables) EXITS times and returns microseconds per exit. */
static double exit_loop_us(struct vm *vm, const struct vcpu_state *booted,
			   const uint8_t *code, size_t len)
{
	struct vcpu_state st = *booted;
	/* Its one OUT, for a back end that breaks on them (QEMU). */
	struct vm_code_site out = {
		.len = 2, .opcode = 0xe6, .port = 0x80, .opsize = 1};
	struct vm_exit ex;
	double t0;

	st.regs.rip = IST_KERNEL_VMA + LOOP_GPA;
	vm_set_state(vm, &st); /* before the code: QEMU's loadvm puts back
				  all of memory */
	vm_load_code(vm, LOOP_GPA, code, len);
	for (size_t i = 0; i + 1 < len; i++)
		if (code[i] == 0xe6 && code[i + 1] == 0x80)
			out.rip = st.regs.rip + i;
	vm_note_code_sites(vm, &out, 1);
	t0 = now_us();
	for (int i = 0; i < EXITS; i++) {
		if (vm_run(vm, 1000, &ex) || ex.kind != VM_EXIT_IO) {
			fprintf(stderr, "trial_rate: exit loop stopped (%d)\n",
				ex.kind);
			exit(1);
		}
	}
	return (now_us() - t0) / EXITS;
}

/* The CPL0 instructions a trial runs, counted by stepping it: from the
 * boundary's snapshot with the event pending, a breakpoint on each
 * successor of the instruction the vCPU stopped on, and on the gates of
 * the events that can still arrive (the injected kind's, the NMI's: a
 * held NMI is delivered between instructions). While the guest is at
 * CPL3 it runs free to the next entry point. -1 when the back end fails
 * or an instruction cannot be followed. */
static long count_cpl0(struct vm *vm, const struct guest_layout *lay,
		       const struct boundary *at, const struct injection *inj)
{
	const uint64_t gates[2] = {
		guest_gate(lay, injector_for(inj->kind)->vector),
		guest_gate(lay, IST_VEC_NMI)};
	uint64_t bps[4];
	int n = 0;
	long count = 0;

	if (boundary_start(vm, lay, at, inj))
		return -1;
	for (int i = 0; i < lay->nentry_points && n < 4; i++)
		bps[n++] = lay->entry_points[i];
	for (int exits = 0; exits < 1000000; exits++) {
		struct vcpu_state st;
		struct vm_reader rd = {vm, 0};
		struct vm_exit ex;
		struct insn insn;
		uint8_t code[16];
		uint64_t succ[2];
		int nsucc;

		if (vm_set_breakpoints(vm, bps, n) || vm_run(vm, 2000, &ex))
			return -1;
		if (ex.kind != VM_EXIT_BREAKPOINT)
			return count; /* the run ended */
		vm_get_state(vm, &st);
		rd.cr3 = st.sregs.cr3;
		count += (st.sregs.cs.selector & 3) == 0;
		if (vm_read_virt(vm, rd.cr3, st.regs.rip, code, sizeof(code)) ||
		    insn_decode(code, sizeof(code), st.regs.rip, &insn) ||
		    insn.len == 0)
			return -1;
		nsucc = insn_successors(&insn, &st.regs, st.sregs.gs.base,
					st.sregs.fs.base, vm_reader_read, &rd,
					succ);
		n = 0;
		for (int i = 0; i < nsucc; i++)
			if (succ[i] >= IST_KERNEL_VMA && succ[i] != st.regs.rip)
				bps[n++] = succ[i];
		if (n == 0) /* to CPL3 (or onto itself): the entry points */
			for (int i = 0; i < lay->nentry_points && n < 4; i++)
				bps[n++] = lay->entry_points[i];
		for (int g = 0; g < 2 && n < 4; g++) {
			int have = gates[g] == st.regs.rip;
			for (int i = 0; i < n; i++)
				have |= bps[i] == gates[g];
			if (!have)
				bps[n++] = gates[g];
		}
	}
	return -1;
}

/* What the trials of one depth cost. */
struct depth_figures {
	int depth;
	size_t trials, unfinished, schedules, counted;
	double trial_us_sum, insns_sum, sweep_s;
	int count_failed;
};

static void on_trial(void *ctx, struct vm *vm, const struct stub_sweep *s,
		     int level, const struct boundary *at,
		     const struct injection *inj, const struct observation *obs,
		     double seconds)
{
	struct depth_figures *f = ctx;
	long insns;

	if (level + 1 != f->depth)
		return;
	if (obs->end != RUN_DONE) {
		f->unfinished++;
		return;
	}
	f->trials++;
	f->trial_us_sum += seconds * 1e6;
	/* Every k-th trial, spread over the sweep: it runs in order. */
	if (f->counted >= SAMPLES || f->trials % 7 != 1)
		return;
	insns = count_cpl0(vm, &s->lay, at, inj);
	if (insns < 0) {
		f->count_failed++;
		return;
	}
	f->insns_sum += (double)insns;
	f->counted++;
}

static void sweep_depth(struct vm *vm, const char *path, const char *stub,
			struct depth_figures *f)
{
	unsigned can = vm_features(vm);
	struct sweep_options opt = {.seed = 1,
				    .timeout_ms = TRIAL_TIMEOUT_MS,
				    .depth = f->depth,
				    .db_method = DB_BY_PAYLOAD,
				    .trial_done = on_trial,
				    .trial_done_ctx = f};
	struct stub_sweep s;
	double t0;
	int herr;

	for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++) {
		opt.events[d] = (1u << EVENT_KIND_COUNT) - 1;
		if (!(can & VM_CAN_DB_PAYLOAD))
			opt.events[d] &= ~(1u << EVENT_DB);
		if (!(can & VM_CAN_IRQ))
			opt.events[d] &= ~(1u << EVENT_IRQ);
	}
	if (f->depth > 1) {
		opt.at = f->depth == 2 ? NARROW_2 : NARROW_3;
		opt.exec = 1;
	}
	t0 = now_us();
	if (sweep_stub(vm, stub, path, &opt, &s, &herr)) {
		fprintf(stderr, "trial_rate: %s\n", s.error);
		exit(2);
	}
	f->sweep_s = (now_us() - t0) / 1e6;
	f->schedules = sweep_totals(&s).schedules;
	stub_sweep_free(&s);
}

/* Microseconds per boundary of a nested trace: the NMI's handler after the
 * SYSCALL gap, recorded by breakpoint stepping. */
static double step_us(struct vm *vm, const struct guest_image *img,
		      const struct guest_layout *lay, const struct golden *g,
		      size_t *boundaries)
{
	struct injection nmi;
	struct trace t;
	char err[300];
	double t0, us = 0;
	size_t at = g->trace.n / 3, n = 0;
	int rounds = 0;

	injection_default(&nmi, EVENT_NMI);
	t0 = now_us();
	for (; rounds < 5; rounds++) {
		if (trace_after(vm, img, lay, &g->trace.b[at], &nmi, 0, &t, err,
				sizeof(err)))
			return -1;
		n += t.n;
		trace_free(&t);
	}
	us = n ? (now_us() - t0) / n : -1;
	*boundaries = n / rounds;
	return us;
}

static long peak_rss_mib(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ru.ru_maxrss / 1024;
}

int main(int argc, char **argv)
{
	/* out %al,$0x80; jmp back */
	static const uint8_t round_trip[] = {0xe6, 0x80, 0xeb, 0xfc};
	/* mov $1000,%ecx; 1: dec %ecx; jnz 1b; out %al,$0x80; jmp to start:
	 * 2002 instructions per exit */
	static const uint8_t countdown[] = {0xb9, 0xe8, 0x03, 0x00, 0x00,
					    0xff, 0xc9, 0x75, 0xfc, 0xe6,
					    0x80, 0xeb, 0xf3};
	int qemu = 0, json = 0;
	const char *stub = "linux";
	struct guest_image img;
	struct guest_layout lay;
	struct golden g;
	struct depth_figures fig[3];
	struct vm_code_site sites[GUEST_MAX_CODE_SITES];
	double rt, insn, t0, restore, step;
	size_t step_n = 0;
	char path[512], err[400], backend[32], described[96];
	long rss_self, rss_qemu;
	struct vm *vm;
	int status = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--backend") && i + 1 < argc)
			qemu = !strcmp(argv[++i], "qemu");
		else if (argv[i][0] != '-')
			stub = argv[i];
		else {
			fprintf(stderr, "usage: trial_rate [--backend "
					"kvm|qemu] [--json] [STUB]\n");
			return 2;
		}
	}
	if (qemu ? vm_open_qemu(IST_GUEST_MEM_SIZE, &vm, err, sizeof(err))
		 : vm_open("/dev/kvm", IST_GUEST_MEM_SIZE, &vm, err,
			   sizeof(err))) {
		fprintf(stderr, "trial_rate: %s\n", err);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s.elf", IST_DEFAULT_GUEST_DIR, stub);
	if (image_load(path, &img, err, sizeof(err)) ||
	    guest_layout_read(&img, &lay, err, sizeof(err)) ||
	    golden_run(vm, &img, &lay, 1, &g, err, sizeof(err))) {
		fprintf(stderr, "trial_rate: %s\n", err);
		return 2;
	}
	snprintf(backend, sizeof(backend), "%.*s",
		 (int)strcspn(vm_backend(vm), " "), vm_backend(vm));
	snprintf(described, sizeof(described), "%s", vm_backend(vm));

	rt = exit_loop_us(vm, &g.trace.b[0].snap.state, round_trip,
			  sizeof(round_trip));
	insn = (exit_loop_us(vm, &g.trace.b[0].snap.state, countdown,
			     sizeof(countdown)) -
		rt) /
	       2002.0;
	if (insn < 0)
		insn = 0; /* below the noise of the round trip */
	/* The loops noted a site of their own: the guest's back (restores
	 * put its code back). */
	vm_note_code_sites(vm, sites,
			   guest_code_sites(&img, sites, GUEST_MAX_CODE_SITES));
	t0 = now_us();
	for (int r = 0; r < 200; r++)
		snapshot_restore(vm, &lay, &g.trace.b[r % g.trace.n].snap);
	restore = (now_us() - t0) / 200;
	step = step_us(vm, &img, &lay, &g, &step_n);

	for (int d = 0; d < 3; d++) {
		memset(&fig[d], 0, sizeof(fig[d]));
		fig[d].depth = d + 1;
		sweep_depth(vm, path, stub, &fig[d]);
		if (!fig[d].trials || !fig[d].counted)
			status = 1;
	}
	golden_free(&g);
	image_free(&img);
	rss_self = peak_rss_mib(RUSAGE_SELF);
	vm_close(vm); /* a QEMU is waited for: its peak is a child's */
	rss_qemu = qemu ? peak_rss_mib(RUSAGE_CHILDREN) : 0;

	if (json) {
		printf("{\n  \"backend\": \"%s\",\n  \"stub\": \"%s\",\n",
		       backend, stub);
		printf("  \"raw_exit_us\": %.3f,\n  \"cpl0_insn_us\": %.4f,\n"
		       "  \"step_us\": %.2f,\n  \"restore_us\": %.2f,\n",
		       rt, insn, step, restore);
	} else {
		printf("back end:          %s\n", described);
		printf("stub:              %s\n", stub);
		printf("round trip:        %9.2f us  (CPL0 'out; jmp' loop, %d "
		       "exits)\n",
		       rt, EXITS);
		printf("CPL0 instruction:  %9.3f us  (1000-iteration "
		       "countdown, less the round trip)\n",
		       insn);
		printf("single step:       %9.2f us  (per boundary of a "
		       "%zu-boundary nested trace, breakpoint stepping)\n",
		       step, step_n);
		printf("restore:           %9.2f us  (golden snapshots, 200 "
		       "times)\n\n",
		       restore);
		printf("         %10s %10s %10s %7s %12s  %s\n", "trial us",
		       "CPL0 insns", "floor us", "ratio", "schedules/s",
		       "(trials timed; not finished, apart)");
	}
	for (int d = 0; d < 3; d++) {
		const struct depth_figures *f = &fig[d];
		double trial = f->trials ? f->trial_us_sum / f->trials : 0;
		double insns = f->counted ? f->insns_sum / f->counted : 0;
		double floor = rt + insns * insn;
		double rate = f->sweep_s > 0 ? f->schedules / f->sweep_s : 0;

		if (json)
			printf("  \"depth%d\": {\"trial_us\": %.2f, "
			       "\"cpl0_insns\": %.0f, \"floor_us\": %.2f, "
			       "\"ratio\": %.2f, \"schedules_per_s\": %.1f, "
			       "\"trials\": %zu, \"unfinished\": %zu, "
			       "\"counted\": %zu},\n",
			       d + 1, trial, insns, floor,
			       floor > 0 ? trial / floor : 0, rate, f->trials,
			       f->unfinished, f->counted);
		else
			printf("depth %d: %10.2f %10.0f %10.2f %7.2f %12.1f  "
			       "(%zu; %zu; instructions of %zu%s)\n",
			       d + 1, trial, insns, floor,
			       floor > 0 ? trial / floor : 0, rate, f->trials,
			       f->unfinished, f->counted,
			       f->count_failed ? ", some not countable" : "");
	}
	if (json)
		printf("  \"peak_rss_mib\": %ld,\n  \"peak_rss_qemu_mib\": "
		       "%ld\n}\n",
		       rss_self, rss_qemu);
	else
		printf("\npeak resident memory: %ld MiB this process%s",
		       rss_self, qemu ? "" : "\n");
	if (!json && qemu)
		printf(", %ld MiB its QEMU\n", rss_qemu);
	if (status)
		fprintf(stderr,
			"trial_rate: a depth had no trial that ran to the "
			"workload's end, or none could be counted: its "
			"figures mean nothing\n");
	return status;
}
