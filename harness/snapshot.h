/* A snapshot of the machine at one boundary: the vCPU state and the guest
 * pages the guest can write. Taken once per boundary of the golden run;
 * every trial at that boundary starts from it.
 */
#ifndef IST_SNAPSHOT_H
#define IST_SNAPSHOT_H

#include "guest.h"
#include "page_store.h"
#include "vm.h"

struct snapshot {
	struct vcpu_state state;
	/* The kernel rw range's pages, then the user rw range's, shared
	 * with every snapshot holding the same bytes. */
	struct page **pages;
	size_t npages;
	struct vm *vm; /* whose checkpoint state holds: freed with it */
};

int snapshot_take(struct vm *vm, const struct guest_layout *lay,
		  struct snapshot *snap);
/* Puts the vCPU and the writable pages back as they were. Only pages the
 * guest may have changed are written (all of them on the reference path,
 * vm_set_reference_restore). */
int snapshot_restore(struct vm *vm, const struct guest_layout *lay,
		     const struct snapshot *snap);
/* Copies guest memory [gpa, gpa+len) as the snapshot holds it; -1 when
 * it is not all in the writable ranges. */
int snapshot_read(const struct snapshot *snap, const struct guest_layout *lay,
		  uint64_t gpa, void *buf, size_t len);
void snapshot_free(struct snapshot *snap);

#endif
