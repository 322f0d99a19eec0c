/* Collecting what a run left behind, and running a guest to its end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int run_to_completion(struct vm *vm, const struct guest_layout *lay,
		      unsigned timeout_ms, struct observation *obs)
{
	char detail[128];

	if (vm_set_breakpoints(vm, NULL, 0))
		return -1;
	for (int exits = 0; exits < RUN_EXIT_BUDGET; exits++) {
		struct vm_exit ex;

		if (vm_run(vm, timeout_ms, &ex))
			return -1;
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
