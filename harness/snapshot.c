/* Snapshots of the vCPU and of the guest's writable pages.
 *
 * The guest's writable memory is small and known from its linker script
 * (__kernel_rw_*, __user_rw_*), and its page tables have Accessed/Dirty
 * preset, so nothing else changes while a correct guest runs. A runaway
 * one (a handler nesting without end down through memory) can overwrite
 * its code, which its page tables map writable: a restore puts back any
 * code that differs from the image, or every later trial would run it.
 */
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

#define PAGE 4096

static void copy_ranges(struct vm *vm, const struct guest_layout *lay,
			uint8_t *buf, int to_guest)
{
	const uint64_t gpa[2] = {lay->kernel_rw_gpa, lay->user_rw_gpa};
	const uint64_t len[2] = {lay->kernel_rw_len, lay->user_rw_len};

	for (int r = 0; r < 2; r++) {
		uint8_t *g = vm_mem(vm, gpa[r], len[r]);
		for (uint64_t off = 0; off < len[r]; off += PAGE) {
			size_t n = len[r] - off < PAGE ? len[r] - off : PAGE;
			if (!to_guest)
				memcpy(buf, g + off, n);
			else if (memcmp(g + off, buf, n))
				memcpy(g + off, buf, n);
			buf += n;
		}
	}
}

int snapshot_take(struct vm *vm, const struct guest_layout *lay,
		  struct snapshot *snap)
{
	snap->mem = malloc(lay->kernel_rw_len + lay->user_rw_len);
	if (!snap->mem)
		return -1;
	vm_get_state(vm, &snap->state);
	snap->state.checkpoint = 0;
	snap->vm = vm;
	copy_ranges(vm, lay, snap->mem, 0);
	if (vm_checkpoint(vm, &snap->state)) {
		snapshot_free(snap);
		return -1;
	}
	return 0;
}

int snapshot_restore(struct vm *vm, const struct guest_layout *lay,
		     const struct snapshot *snap)
{
	/* Registers first: a back end may run the guest to set what its
	 * registers cannot hold (QEMU), and memory then puts back all it
	 * wrote. */
	if (vm_set_state(vm, &snap->state))
		return -1;
	copy_ranges(vm, lay, snap->mem, 1);
	for (int i = 0; i < lay->ncode; i++) {
		const uint8_t *g =
			vm_mem(vm, lay->code[i].gpa, lay->code[i].len);

		if (g && memcmp(g, lay->code[i].bytes, lay->code[i].len) &&
		    vm_load_code(vm, lay->code[i].gpa, lay->code[i].bytes,
				 lay->code[i].len))
			return -1;
	}
	return 0;
}

void snapshot_free(struct snapshot *snap)
{
	if (snap->vm)
		vm_checkpoint_release(snap->vm, snap->state.checkpoint);
	snap->vm = NULL;
	snap->state.checkpoint = 0;
	free(snap->mem);
	snap->mem = NULL;
}
