/* trial_rate: what one trial costs against its floor, measured in one run
 * on this machine, on either back end.
 *
 *   round trip     a guest loop "out; jmp" at CPL0: one exit per run (on
 *                  KVM a KVM_RUN; on QEMU a gdb continue and stop)
 *   CPL0 insn      the same loop with a 2000-instruction countdown in front,
 *                  minus the round trip, per instruction (near 0 on hardware
 *                  KVM; about 0.6 us on kvm_pvm, which emulates CPL0)
 *   restore        putting a golden snapshot back (KVM: sync_regs and MSRs;
 *                  QEMU: loadvm)
 *   trial          restore + NMI + run to completion + observe + judge, over
 *                  every boundary of a stub's golden trace
 *   floor          restore + round trip: what no trial can go below
 *
 * It prints ratios, never asserts on time: these machines are shared.
 *   usage: trial_rate [--backend kvm|qemu] [STUB [ROUNDS]]
 *          (default: kvm, linux, 20 rounds)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sweep.h"
#include "trial.h"

#define LOOP_GPA 0x1000
#define NARROW_2 "entry_SYSCALL_64_after_hwframe+0x0"
#define NARROW_3 NARROW_2 " > asm_exc_nmi+0x1"
#define EXITS	 20000

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

/* Schedules per second of a whole sweep at one depth (traces recorded
 * after each delivered event included), for one stub. */
static double sweep_rate(struct vm *vm, const char *path, const char *stub,
			 int depth, size_t *schedules)
{
	unsigned can = vm_features(vm);
	struct sweep_options opt = {.seed = 1,
				    .timeout_ms = TRIAL_TIMEOUT_MS,
				    .depth = depth,
				    .db_method = DB_BY_PAYLOAD};
	struct depth_counts t;
	struct stub_sweep s;
	double t0;
	int herr;

	for (int d = 0; d < SCHEDULE_MAX_DEPTH; d++) {
		opt.events[d] = (1u << EVENT_KIND_COUNT) - 1;
		if (!(can & VM_CAN_DB_PAYLOAD))
			opt.events[d] &= ~(1u << EVENT_DB);
	}
	/* Depth 3 over every boundary is millions of schedules: narrow the
	 * first injection to one boundary, and at depth 3 the second to the
	 * NMI handler's second instruction. */
	if (depth > 1) {
		opt.at = depth == 2 ? NARROW_2 : NARROW_3;
		opt.exec = 1;
	}
	t0 = now_us();
	if (sweep_stub(vm, stub, path, &opt, &s, &herr)) {
		fprintf(stderr, "trial_rate: %s\n", s.error);
		exit(2);
	}
	t = sweep_totals(&s);
	*schedules = t.schedules;
	stub_sweep_free(&s);
	return t.schedules / ((now_us() - t0) / 1e6);
}

int main(int argc, char **argv)
{
	/* out %al,$0x80; jmp back */
	static const uint8_t round_trip[] = {0xe6, 0x80, 0xeb, 0xfc};
	/* mov $1000,%ecx; 1: dec %ecx; jnz 1b; out %al,$0x80; jmp to start */
	static const uint8_t countdown[] = {0xb9, 0xe8, 0x03, 0x00, 0x00,
					    0xff, 0xc9, 0x75, 0xfc, 0xe6,
					    0x80, 0xeb, 0xf3};
	int qemu = argc > 2 && !strcmp(argv[1], "--backend") &&
		   !strcmp(argv[2], "qemu");
	int skip = argc > 2 && !strcmp(argv[1], "--backend") ? 2 : 0;
	const char *stub = argc > 1 + skip ? argv[1 + skip] : "linux";
	int rounds = argc > 2 + skip ? atoi(argv[2 + skip]) : 20;
	struct injection nmi;
	struct observation obs;
	struct golden g;
	struct guest_image img;
	struct guest_layout lay;
	struct vcpu_state booted;
	struct vm_code_site sites[GUEST_MAX_CODE_SITES];
	double rt, insn, t0, trial, restore;
	char path[512], err[400];
	struct vm *vm;
	size_t n = 0, unfinished = 0;

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
	booted = g.trace.b[0].snap.state;

	rt = exit_loop_us(vm, &booted, round_trip, sizeof(round_trip));
	insn = (exit_loop_us(vm, &booted, countdown, sizeof(countdown)) - rt) /
	       2002.0;
	vm_note_code_sites(vm, sites,
			   guest_code_sites(&img, sites, GUEST_MAX_CODE_SITES));
	t0 = now_us();
	for (int r = 0; r < 200; r++)
		snapshot_restore(vm, &lay, &g.trace.b[r % g.trace.n].snap);
	restore = (now_us() - t0) / 200;

	injection_default(&nmi, EVENT_NMI);
	observation_init(&obs, &lay);
	t0 = now_us();
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < g.trace.n; i++, n++)
			if (trial_run(vm, &img, &lay, &g.trace.b[i], &nmi,
				      TRIAL_TIMEOUT_MS, &obs, err,
				      sizeof(err)) ||
			    obs.end != RUN_DONE)
				unfinished++;
	trial = (now_us() - t0) / n;
	/* A trial that hangs or fails costs its time limit, not a trial's
	 * work: such a figure would measure nothing. */
	if (unfinished) {
		fprintf(stderr,
			"trial_rate: %zu of %zu trials did not run to the "
			"workload's end on %s; the trial figure would be "
			"meaningless\n",
			unfinished, n, stub);
		return 1;
	}

	printf("back end:              %s\n", vm_backend(vm));
	printf("round trip:            %8.2f us  (CPL0 'out; jmp' loop, %d "
	       "exits)\n",
	       rt, EXITS);
	printf("CPL0 instruction:      %8.3f us  (2000-instruction "
	       "countdown)\n",
	       insn);
	printf("trial (%s, nmi):   %8.2f us  (%zu trials over %zu boundaries; "
	       "restore, inject, gate check, run, observe)\n",
	       stub, trial, n, g.trace.n);
	printf("restore:               %8.2f us  (golden snapshots, 200 "
	       "times)\n",
	       restore);
	printf("trial / round trip:    %8.1f\n", trial / rt);
	printf("trial / floor:         %8.1f  (floor = restore + round "
	       "trip)\n",
	       trial / (restore + rt));
	for (int d = 1; d <= 3; d++) {
		size_t count;
		double rate = sweep_rate(vm, path, stub, d, &count);
		printf("depth %d sweep:         %8.0f schedules/s  (%zu "
		       "schedules, nmi,%smc%s; = %.1f round trips each)\n",
		       d, rate, count,
		       (vm_features(vm) & VM_CAN_DB_PAYLOAD) ? "db," : "",
		       d == 2	? ", at " NARROW_2 " #1"
		       : d == 3 ? ", at " NARROW_3 " #1"
				: "",
		       1e6 / rate / rt);
	}
	observation_free(&obs);
	golden_free(&g);
	image_free(&img);
	vm_close(vm);
	return 0;
}
