/* Injectors: one file per event kind behind this interface, and one line
 * per kind in the table in injectors.c. An injector only makes its event
 * pending on a vCPU that has just been restored to a boundary; when the
 * CPU delivers it is the architecture's business (and the oracle's model).
 */
#ifndef IST_INJECTOR_H
#define IST_INJECTOR_H

#include "../harness/vm.h"

enum event_kind {
	EVENT_NMI,
	EVENT_KIND_COUNT,
};

struct injection {
	enum event_kind kind;
};

struct injector {
	const char *name; /* as on the command line: "nmi" */
	enum event_kind kind;
	uint8_t vector; /* what the guest's log records for it */
	int (*inject)(struct vm *vm, const struct injection *inj);
};

/* NULL when there is no injector by that name. */
const struct injector *injector_by_name(const char *name);
const struct injector *injector_for(enum event_kind kind);
/* "nmi" ... comma-separated, for error messages. */
const char *injector_names(void);

#endif
