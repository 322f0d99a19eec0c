/* trial_rate: what one trial costs against the cost of a bare KVM_RUN round
 * trip, measured in one run on this machine.
 *
 *   round trip     a guest loop "out; jmp" at CPL0: one exit per KVM_RUN
 *   CPL0 insn      the same loop with a 2000-instruction countdown in front,
 *                  minus the round trip, per instruction (near 0 on hardware
 *                  KVM; about 0.6 us on kvm_pvm, which emulates CPL0)
 *   trial          restore + NMI + run to completion + observe + judge, over
 *                  every boundary of a stub's golden trace
 *
 * It prints ratios, never asserts on time: these machines are shared.
 *   usage: trial_rate [STUB [ROUNDS]]   (default: linux 20)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sweep.h"
#include "trial.h"

#define LOOP_GPA 0x1000
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
	struct vm_exit ex;
	double t0;

	memcpy(vm_mem(vm, LOOP_GPA, len), code, len);
	st.regs.rip = IST_KERNEL_VMA + LOOP_GPA;
	vm_set_state(vm, &st);
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

int main(int argc, char **argv)
{
	/* out %al,$0x80; jmp back */
	static const uint8_t round_trip[] = {0xe6, 0x80, 0xeb, 0xfc};
	/* mov $1000,%ecx; 1: dec %ecx; jnz 1b; out %al,$0x80; jmp to start */
	static const uint8_t countdown[] = {0xb9, 0xe8, 0x03, 0x00, 0x00,
					    0xff, 0xc9, 0x75, 0xfc, 0xe6,
					    0x80, 0xeb, 0xf3};
	const char *stub = argc > 1 ? argv[1] : "linux";
	int rounds = argc > 2 ? atoi(argv[2]) : 20;
	struct sweep_options opt = {.seed = 1,
				    .timeout_ms = TRIAL_TIMEOUT_MS,
				    .events = 1u << EVENT_NMI};
	struct injection nmi = {.kind = EVENT_NMI};
	struct oracle_context ctx;
	struct vcpu_state booted;
	struct observation obs;
	struct stub_sweep s;
	double rt, insn, t0, trial;
	char path[512], err[400];
	struct vm *vm;
	int herr;
	size_t n = 0;

	if (vm_open("/dev/kvm", IST_GUEST_MEM_SIZE, &vm, err, sizeof(err))) {
		fprintf(stderr, "trial_rate: %s\n", err);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s.elf", IST_DEFAULT_GUEST_DIR, stub);
	if (sweep_stub(vm, stub, path, &opt, &s, &herr)) {
		fprintf(stderr, "trial_rate: %s\n", s.error);
		return 2;
	}
	booted = s.golden.b[0].snap.state;

	rt = exit_loop_us(vm, &booted, round_trip, sizeof(round_trip));
	insn = (exit_loop_us(vm, &booted, countdown, sizeof(countdown)) - rt) /
	       2001.0;

	oracle_context_init(&ctx, &s.lay, s.lay.boot_cr3);
	observation_init(&obs, &s.lay);
	t0 = now_us();
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < s.golden.n; i++, n++) {
			struct verdict v;
			struct oracle_case c = {
				.golden = &s.golden.final,
				.trial = &obs,
				.delivered = &s.golden.b[i].snap.state,
				.vector = IST_VEC_NMI,
				.event = "nmi",
				.ist_index = IST_INDEX_NMI,
			};
			trial_run(vm, &s.lay, &s.golden.b[i], &nmi,
				  TRIAL_TIMEOUT_MS, &obs);
			oracle_judge(&ctx, &c, &v);
		}
	}
	trial = (now_us() - t0) / n;

	printf("back end:              %s\n", vm_backend(vm));
	printf("KVM_RUN round trip:    %8.2f us  (CPL0 'out; jmp' loop, %d "
	       "exits)\n",
	       rt, EXITS);
	printf("CPL0 instruction:      %8.3f us  (2000-instruction "
	       "countdown)\n",
	       insn);
	printf("trial (%s, nmi):   %8.2f us  (%zu trials over %zu "
	       "boundaries)\n",
	       stub, trial, n, s.golden.n);
	printf("trial / round trip:    %8.1f\n", trial / rt);
	printf("trial rate:            %8.0f trials/s\n", 1e6 / trial);
	observation_free(&obs);
	stub_sweep_free(&s);
	vm_close(vm);
	return 0;
}
