/* A snapshot of the machine at one boundary: the vCPU state and the guest
 * pages the guest can write. Taken once per boundary of the golden run;
 * every trial at that boundary starts from it.
 */
#ifndef IST_SNAPSHOT_H
#define IST_SNAPSHOT_H

#include "guest.h"
#include "vm.h"

struct snapshot {
	struct vcpu_state state;
	uint8_t *mem;  /* kernel rw range, then user rw range */
	struct vm *vm; /* whose checkpoint state holds: freed with it */
};

int snapshot_take(struct vm *vm, const struct guest_layout *lay,
		  struct snapshot *snap);
/* Puts the vCPU and the writable pages back as they were. Only pages that
 * differ are written. */
int snapshot_restore(struct vm *vm, const struct guest_layout *lay,
		     const struct snapshot *snap);
void snapshot_free(struct snapshot *snap);

#endif
