/* A schedule: an ordered list of injections. The first is at a boundary of
 * the golden trace; each later one at a boundary of the trace recorded after
 * the previous event was delivered (inside its handler, up to where the
 * interrupted code resumes). A boundary is named symbol+offset and which
 * execution of it, counted within its own trace.
 */
#ifndef IST_SCHEDULE_H
#define IST_SCHEDULE_H

#include "../injectors/injector.h"
#include "loader.h"
#include "model.h"

#define SCHEDULE_MAX_DEPTH 4

struct schedule_step {
	struct injection inj;
	uint64_t addr; /* where the schedule makes the event pending */
	unsigned exec;
	enum model_outcome outcome; /* what the model says where it is raised */
	uint64_t delivered_addr;    /* where the CPU delivers it (held events */
	unsigned delivered_exec;    /* land at a later boundary), or 0 */
	char insn[112];		    /* disassembly at addr */
};

struct schedule {
	int depth;
	struct schedule_step step[SCHEDULE_MAX_DEPTH];
};

/* "nmi@entry_SYSCALL_64+0x0 > db@asm_exc_nmi+0x4 #2"; a held event adds
 * "(held to sym+off)". Returns buf. */
char *schedule_format(const struct guest_image *img, const struct schedule *s,
		      char *buf, size_t len);

/* Event kinds per level: "nmi,db" for every level, or "nmi:db:nmi" level
 * by level, into levels[] (bit 1 << enum event_kind). Returns how many
 * levels it names, or -1 with err (one line: what is wrong, what is
 * known). */
int schedule_events_parse(const char *spec, unsigned *levels, char *err,
			  size_t errlen);

#endif
