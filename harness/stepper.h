/* The golden run: the workload with no injection, stopped at every
 * instruction boundary of entry text by hardware breakpoints that the host
 * computes from Capstone's decode. Never TF: single-stepping sets TF behind
 * the guest's back, and on hardware KVM it then leaks into R11 across
 * SYSCALL, into PUSHF and into event frames.
 *
 * Each boundary gets its name, its disassembly, which execution of it this
 * is, and a snapshot; the run's end is the expected final state.
 */
#ifndef IST_STEPPER_H
#define IST_STEPPER_H

#include "disasm.h"
#include "guest.h"
#include "loader.h"
#include "observe.h"
#include "snapshot.h"

struct boundary {
	uint64_t addr;
	unsigned exec; /* 1 for the first time the trace reaches addr */
	struct insn insn;
	struct snapshot snap;
};

struct golden {
	struct boundary *b;
	size_t n, cap;
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

/* Formats "symbol+0xoff" for a boundary; "#k" is added when k > 1. */
char *boundary_name(const struct guest_image *img, const struct boundary *b,
		    char *buf, size_t len);

#endif
