/* Traces: every instruction boundary of entry text that execution reaches,
 * each with its name, disassembly, which execution of it this is, and a
 * snapshot. The golden run is the trace of the workload with no injection;
 * a nested trace is the one after an injection, through the handler, up to
 * where the interrupted code resumes.
 *
 * Boundaries are reached by hardware breakpoints that the host computes
 * from Capstone's decode. Never TF: single-stepping sets TF behind the
 * guest's back, and on hardware KVM it then leaks into R11 across SYSCALL,
 * into PUSHF and into event frames.
 */
#ifndef IST_STEPPER_H
#define IST_STEPPER_H

#include "../injectors/injector.h"
#include "disasm.h"
#include "guest.h"
#include "loader.h"
#include "observe.h"
#include "snapshot.h"

/* A MOV SS from memory (at `from`, reading `addr`) whose data breakpoint
 * trap, held by the MOV SS shadow past the instruction after it, lands at
 * a boundary: the SYSCALL entry after the workload's MOV SS; SYSCALL is the
 * CVE-2018-8897 case. from == 0: none lands there. */
struct ss_watch {
	uint64_t from, addr;
	/* Where the guest's own watchpoint can be armed before the MOV SS
	 * runs: the snapshot of the last boundary before the run to user
	 * mode, or the trace's start. NULL: nowhere. */
	const struct snapshot *arm;
	long arm_at; /* while recording: its index, -1 the start, -2 none */
};

struct boundary {
	uint64_t addr;
	unsigned exec; /* 1 for the first time the trace reaches addr */
	struct insn insn;
	struct snapshot snap;
	struct ss_watch ss_watch;
	/* At an event's gate: the frame on the stack (RIP, CS, RFLAGS, RSP,
	 * SS) as the CPU pushed it, and the vector whose gate it is (0:
	 * not a gate). */
	uint64_t frame[5];
	uint64_t frame_vector;
};

struct trace {
	struct boundary *b;
	size_t n, cap;
	/* Nested traces: the index of the boundary where the interrupted
	 * code resumed (the handler's IRET landed), or n if it never did. */
	size_t resumed;
	char end[200]; /* how the trace ended, in words */
	/* The golden run: at enter_user, the last kernel instruction before
	 * the workload, after boot has cleared the debug registers. */
	struct snapshot start;
	int has_start;
};

struct golden {
	struct trace trace;
	struct observation final;
	uint64_t seed;
};

/* Boots the guest and records its golden trace. Returns -1 with a one-line
 * reason when the stub does not complete without injection, or the decode
 * and the CPU disagree. */
int golden_run(struct vm *vm, const struct guest_image *img,
	       const struct guest_layout *lay, uint64_t seed, struct golden *g,
	       char *err, size_t errlen);
void golden_free(struct golden *g);

/* Records the trace after delivering inj at boundary `at`: from the
 * handler's first instruction until the interrupted code resumes (or the
 * guest stops). The interrupted code resumes at `at` with its RSP, or, when
 * resume_rip is not 0, wherever it reaches resume_rip (an atomic IST entry
 * interrupted before its commit resumes at its commit label, on another
 * stack). Checks the event landed where expected: the frame the CPU pushed
 * must name at->addr. Returns -1 with a reason on a harness error (a
 * landing elsewhere is one); a stub that crashes just ends its trace. */
int trace_after(struct vm *vm, const struct guest_image *img,
		const struct guest_layout *lay, const struct boundary *at,
		const struct injection *inj, uint64_t resume_rip,
		struct trace *out, char *err, size_t errlen);
void trace_free(struct trace *t);

/* trace_after, but on to the end of the run (the workload's last OUT, or
 * whatever stops the guest): what `replay --trace` shows. */
int trace_to_end(struct vm *vm, const struct guest_image *img,
		 const struct guest_layout *lay, const struct boundary *at,
		 const struct injection *inj, struct trace *out, char *err,
		 size_t errlen);

/* Puts the vCPU where inj, to be delivered at boundary `at`, is raised:
 * at's snapshot with the event pending; or, for a data breakpoint the
 * guest's own watchpoint raises (db_arm_watch), the snapshot before its
 * MOV SS runs, the watchpoint armed. No breakpoints are left armed.
 * Returns -1 when the back end refuses. */
int boundary_start(struct vm *vm, const struct guest_layout *lay,
		   const struct boundary *at, const struct injection *inj);

/* Formats "symbol+0xoff" for a boundary; " #k" is added when k > 1. */
char *boundary_name(const struct guest_image *img, const struct boundary *b,
		    char *buf, size_t len);

#endif
