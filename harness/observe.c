/* Collecting what a run left behind, and running a guest to its end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disasm.h"
#include "observe.h"

int observation_init(struct observation *obs, const struct guest_layout *lay)
{
	memset(obs, 0, sizeof(*obs));
	obs->user_len = lay->user_rw_len;
	obs->user_data = calloc(1, obs->user_len ? obs->user_len : 1);
	return obs->user_data ? 0 : -1;
}

void observation_free(struct observation *obs)
{
	free(obs->user_data);
	obs->user_data = NULL;
}

static int first_broken(const uint64_t *words)
{
	for (int i = 0; i < IST_GUARD_WORDS; i++)
		if (words[i] != IST_GUARD_PATTERN)
			return i;
	return -1;
}

void observe(struct vm *vm, const struct guest_layout *lay, enum run_end end,
	     uint64_t code, const char *detail, struct observation *obs)
{
	const struct ist_stack *stacks;
	const void *log, *user;

	obs->end = end;
	obs->code = code;
	obs->loop_rip = 0;
	snprintf(obs->detail, sizeof(obs->detail), "%s", detail ? detail : "");
	vm_get_state(vm, &obs->final);
	log = vm_mem(vm, lay->log_gpa, sizeof(obs->log));
	memcpy(&obs->log, log, sizeof(obs->log));
	stacks = (const void *)vm_mem(vm, lay->ist_stacks_gpa,
				      sizeof(struct ist_stack) *
					      IST_STACK_COUNT);
	for (int i = 0; i < IST_STACK_COUNT; i++) {
		obs->guard_lo_broken[i] = first_broken(stacks[i].guard_lo);
		obs->guard_hi_broken[i] = first_broken(stacks[i].guard_hi);
		memcpy(obs->ist_top_frame[i],
		       stacks[i].stack + IST_STACK_SIZE -
			       sizeof(obs->ist_top_frame[i]),
		       sizeof(obs->ist_top_frame[i]));
	}
	user = vm_mem(vm, lay->user_rw_gpa, lay->user_rw_len);
	memcpy(obs->user_data, user, lay->user_rw_len);
}

int run_classify_exit(struct vm *vm, const struct guest_layout *lay,
		      const struct vm_exit *ex, unsigned timeout_ms,
		      struct observation *obs)
{
	char detail[128];

	switch (ex->kind) {
	case VM_EXIT_IO:
		if (ex->port == IST_PORT_DONE) {
			observe(vm, lay, RUN_DONE, 0, NULL, obs);
		} else if (ex->port == IST_PORT_PANIC) {
			observe(vm, lay, RUN_PANIC, ex->value, NULL, obs);
		} else {
			snprintf(detail, sizeof(detail),
				 "OUT to port 0x%x, which the guest never uses",
				 ex->port);
			observe(vm, lay, RUN_STRAY, 0, detail, obs);
		}
		return 1;
	case VM_EXIT_SHUTDOWN:
		observe(vm, lay, RUN_SHUTDOWN, 0, NULL, obs);
		return 1;
	case VM_EXIT_HLT:
		observe(vm, lay, RUN_HANG, 0,
			"HLT with nothing left to wake the CPU", obs);
		return 1;
	case VM_EXIT_TIMEOUT:
		snprintf(detail, sizeof(detail), "still running after %u ms",
			 timeout_ms);
		observe(vm, lay, RUN_HANG, 0, detail, obs);
		return 1;
	case VM_EXIT_BREAKPOINT:
		return 0; /* a stale breakpoint; callers disarm them */
	case VM_EXIT_OTHER:
		observe(vm, lay, RUN_STRAY, 0, ex->detail, obs);
		return 1;
	}
	return 0;
}

/* --- loops --------------------------------------------------------------
 *
 * The machine state a loop repeats: the vCPU as the back end reports it and
 * the guest's writable memory (all that a run can change). */
struct machine_copy {
	struct vcpu_state st;
	uint8_t *mem; /* kernel rw, then user rw */
};

static void machine_copy_take(struct vm *vm, const struct guest_layout *lay,
			      struct machine_copy *c)
{
	vm_get_state(vm, &c->st);
	memcpy(c->mem, vm_mem(vm, lay->kernel_rw_gpa, lay->kernel_rw_len),
	       lay->kernel_rw_len);
	memcpy(c->mem + lay->kernel_rw_len,
	       vm_mem(vm, lay->user_rw_gpa, lay->user_rw_len),
	       lay->user_rw_len);
}

/* Is the machine now exactly as c? */
static int machine_same(struct vm *vm, const struct guest_layout *lay,
			const struct machine_copy *c)
{
	struct vcpu_state st;

	vm_get_state(vm, &st);
	return !memcmp(&st.regs, &c->st.regs, sizeof(st.regs)) &&
	       !memcmp(&st.sregs, &c->st.sregs, sizeof(st.sregs)) &&
	       st.kernel_gs_base == c->st.kernel_gs_base &&
	       st.events.nmi.pending == c->st.events.nmi.pending &&
	       st.events.nmi.masked == c->st.events.nmi.masked &&
	       !memcmp(vm_mem(vm, lay->kernel_rw_gpa, lay->kernel_rw_len),
		       c->mem, lay->kernel_rw_len) &&
	       !memcmp(vm_mem(vm, lay->user_rw_gpa, lay->user_rw_len),
		       c->mem + lay->kernel_rw_len, lay->user_rw_len);
}

#define LOOP_PASSES 4
/* Timeouts in which the vCPU had less than half the time on a CPU are not
 * hangs, this many times over. */
#define RUN_STARVED_RETRIES 8
#define LOOP_STEP_MS	    1
/* A step whose vCPU had less CPU time than this proves nothing. */
#define LOOP_MIN_RUN_NS 200000ULL

/* Runs to one of addrs (n of them); 1 there, 0 when the run ended another
 * way (obs filled, or a timeout: the caller's timeout decides), -1 on a
 * back-end failure. */
static int run_to_one_of(struct vm *vm, const struct guest_layout *lay,
			 const uint64_t *addrs, int n, unsigned timeout_ms,
			 struct observation *obs, int *ended)
{
	struct vm_exit ex;

	if (vm_set_breakpoints(vm, addrs, n) || vm_run(vm, timeout_ms, &ex) ||
	    vm_set_breakpoints(vm, NULL, 0))
		return -1;
	vm_get_state(vm, &obs->final);
	for (int i = 0; ex.kind == VM_EXIT_BREAKPOINT && i < n; i++)
		if (obs->final.regs.rip == addrs[i])
			return 1;
	if (ex.kind != VM_EXIT_TIMEOUT)
		*ended = run_classify_exit(vm, lay, &ex, timeout_ms, obs);
	return 0;
}

/* The run stopped (timed out) while still going. Compares the machine at
 * its RIP r with the machine the next time it reaches r, and proves the
 * vCPU ran in between: it is first stopped on a successor of the
 * instruction at r (from the decode), then on r again. A timed-out run
 * alone proves nothing: on a loaded machine the vCPU may not have run at
 * all, and its unchanged state looked like a loop (seen in CI). A
 * breakpoint is never armed on the instruction the vCPU stands on
 * (stepper.c says why). Returns 1 when the run ended (obs filled: a proven
 * loop, or whatever ended it), 0 when no loop was proven and the run
 * should go on, -1 when the back end failed. */
static int look_for_loop(struct vm *vm, const struct guest_layout *lay,
			 unsigned timeout_ms, struct observation *obs)
{
	struct machine_copy a = {0};
	int ended = 0;

	a.mem = malloc(lay->kernel_rw_len + lay->user_rw_len + 1);
	if (!a.mem)
		return 0; /* no proof, no harm: the timeout decides */
	machine_copy_take(vm, lay, &a);
	for (int pass = 0; pass < LOOP_PASSES && !ended; pass++) {
		struct vm_reader rd = {vm, a.st.sregs.cr3};
		uint64_t r = a.st.regs.rip, succ[2], off[2];
		uint8_t code[16];
		struct insn insn;
		int nsucc, noff = 0, rc;

		if (vm_read_virt(vm, rd.cr3, r, code, sizeof(code)) ||
		    insn_decode(code, sizeof(code), r, &insn))
			break;
		nsucc = insn_successors(&insn, &a.st.regs, a.st.sregs.gs.base,
					a.st.sregs.fs.base, vm_reader_read, &rd,
					succ);
		for (int i = 0; i < nsucc; i++)
			if (succ[i] != r)
				off[noff++] = succ[i];
		if (nsucc > 0 && noff == 0 && insn.flow == FLOW_JMP &&
		    insn.target.kind == OPND_IMM) {
			/* "jmp ." changes nothing: it is its own loop. */
			observe(vm, lay, RUN_HANG, 0,
				"it loops: its whole state comes back", obs);
			obs->loop_rip = r;
			ended = 1;
			break;
		}
		if (noff == 0)
			break; /* cannot be followed: the timeout decides */
		rc = run_to_one_of(vm, lay, off, noff, timeout_ms, obs, &ended);
		if (rc <= 0) {
			if (rc < 0)
				goto failed;
			break;
		}
		rc = run_to_one_of(vm, lay, &r, 1, timeout_ms, obs, &ended);
		if (rc <= 0) {
			if (rc < 0)
				goto failed;
			break;
		}
		if (machine_same(vm, lay, &a)) {
			observe(vm, lay, RUN_HANG, 0,
				"it loops: its whole state comes back", obs);
			obs->loop_rip = r;
			ended = 1;
			break;
		}
		machine_copy_take(vm, lay, &a);
	}
	free(a.mem);
	return ended;
failed:
	vm_set_breakpoints(vm, NULL, 0);
	free(a.mem);
	return -1;
}

int run_to_completion(struct vm *vm, const struct guest_layout *lay,
		      unsigned timeout_ms, struct observation *obs)
{
	unsigned look = timeout_ms > RUN_LOOP_LOOK_MS ? RUN_LOOP_LOOK_MS : 0;
	char detail[128];

	if (vm_set_breakpoints(vm, NULL, 0))
		return -1;
	for (int exits = 0, starved = 0; exits < RUN_EXIT_BUDGET; exits++) {
		uint64_t ran = vm_vcpu_time_ns(vm);
		struct vm_exit ex;

		if (vm_run(vm, look ? look : timeout_ms, &ex))
			return -1;
		if (ex.kind == VM_EXIT_TIMEOUT && look) {
			int ended = look_for_loop(vm, lay, timeout_ms, obs);
			if (ended)
				return ended < 0 ? -1 : 0;
			look = 0;
			continue;
		}
		/* A hang is a vCPU that had the time and did not finish: on a
		 * loaded machine the wall clock alone can run out first. */
		ran = ran ? vm_vcpu_time_ns(vm) - ran : UINT64_MAX;
		if (ex.kind == VM_EXIT_TIMEOUT &&
		    ran < (uint64_t)timeout_ms * 1000000 / 2 &&
		    starved++ < RUN_STARVED_RETRIES)
			continue;
		if (run_classify_exit(vm, lay, &ex, timeout_ms, obs))
			return 0;
	}
	snprintf(detail, sizeof(detail), "more than %d exits without finishing",
		 RUN_EXIT_BUDGET);
	observe(vm, lay, RUN_HANG, 0, detail, obs);
	return 0;
}

const char *run_end_name(enum run_end end)
{
	static const char *const names[] = {
		[RUN_DONE] = "done",	     [RUN_PANIC] = "panic",
		[RUN_SHUTDOWN] = "shutdown", [RUN_HANG] = "hang",
		[RUN_STRAY] = "stray exit",
	};
	return names[end];
}
