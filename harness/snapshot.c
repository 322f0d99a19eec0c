/* Snapshots of the vCPU and of the guest's writable pages.
 *
 * The guest's writable memory is small and known from its linker script
 * (__kernel_rw_*, __user_rw_*), and its page tables have Accessed/Dirty
 * preset, so nothing else changes while a correct guest runs. A runaway
 * one (a handler nesting without end down through memory) can overwrite
 * its code, which its page tables map writable: a restore puts back any
 * code that differs from the image, or every later trial would run it.
 *
 * A snapshot's pages are shared with every other snapshot holding the same
 * bytes (page_store.h). A restore writes a page only when the guest may
 * have changed it: where the back end logs the guest's writes (KVM), the
 * pages it wrote plus those that held another snapshot's page; elsewhere
 * each page is compared. The reference path writes them all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

/* Calls fn for each page of the writable ranges: its index among them,
 * its guest physical address and length (the last may be short). */
#define FOR_EACH_RW_PAGE(lay, i, gpa, len)                                     \
	for (int r_ = 0, i = 0; r_ < 2; r_++)                                  \
		for (uint64_t o_ = 0,                                          \
			      base_ = r_ ? (lay)->user_rw_gpa                  \
					 : (lay)->kernel_rw_gpa,               \
			      end_ = r_ ? (lay)->user_rw_len                   \
					: (lay)->kernel_rw_len,                \
			      gpa = base_,                                     \
			      len = end_ < PAGE_SIZE ? end_ : PAGE_SIZE;       \
		     o_ < end_; o_ += PAGE_SIZE, i++, gpa = base_ + o_,        \
			      len = end_ - o_ < PAGE_SIZE ? end_ - o_          \
							  : PAGE_SIZE)

static size_t rw_pages(const struct guest_layout *lay)
{
	return (lay->kernel_rw_len + PAGE_SIZE - 1) / PAGE_SIZE +
	       (lay->user_rw_len + PAGE_SIZE - 1) / PAGE_SIZE;
}

int snapshot_take(struct vm *vm, const struct guest_layout *lay,
		  struct snapshot *snap)
{
	snap->npages = rw_pages(lay);
	snap->pages = calloc(snap->npages, sizeof(*snap->pages));
	snap->vm = NULL;
	if (!snap->pages)
		return -1;
	vm_get_state(vm, &snap->state);
	snap->state.checkpoint = 0;
	snap->vm = vm;
	FOR_EACH_RW_PAGE(lay, i, gpa, len)
	{
		snap->pages[i] = page_intern(vm_mem(vm, gpa, len), len);
		if (!snap->pages[i]) {
			snapshot_free(snap);
			return -1;
		}
	}
	if (vm_checkpoint(vm, &snap->state)) {
		snapshot_free(snap);
		return -1;
	}
	return 0;
}

static int dirty(const uint64_t *bitmap, uint64_t gpa)
{
	uint64_t pg = gpa / PAGE_SIZE;

	return (bitmap[pg / 64] >> (pg % 64)) & 1;
}

/* One restore in this many by the dirty log also compares the pages the
 * log says are unchanged: a back end whose log misses writes (one not
 * tested here) is caught, said once, and not trusted again. */
#define LOG_AUDIT_EVERY 64

static int audit_dirty_log(struct vm *vm, const struct guest_layout *lay,
			   const uint64_t *bitmap, const struct snapshot *snap)
{
	FOR_EACH_RW_PAGE(lay, i, gpa, len)
	{
		const struct page *p = snap->pages[i];

		if (dirty(bitmap, gpa) || vm_page_held(vm, gpa) != p ||
		    !memcmp(vm_mem(vm, gpa, len), p->data, len))
			continue;
		fprintf(stderr,
			"ist-torture: warning: the back end's dirty log missed "
			"a write to guest page 0x%llx; restores compare every "
			"page from now on (slower, still right)\n",
			(unsigned long long)gpa);
		vm_distrust_dirty_log(vm);
		return -1;
	}
	return 0;
}

/* Puts the snapshot's pages back where the guest may have changed them. */
static void restore_pages(struct vm *vm, const struct guest_layout *lay,
			  const struct snapshot *snap)
{
	static unsigned restores;
	const uint64_t *bitmap = NULL;
	int all = vm_reference_restore(vm);
	int logged = !all && vm_dirty_log(vm, &bitmap) == 0;

	if (logged && ++restores % LOG_AUDIT_EVERY == 0) {
		logged = audit_dirty_log(vm, lay, bitmap, snap) == 0;
	}
	FOR_EACH_RW_PAGE(lay, i, gpa, len)
	{
		const struct page *p = snap->pages[i];
		uint8_t *g = vm_mem(vm, gpa, len);

		if (logged && !dirty(bitmap, gpa) && vm_page_held(vm, gpa) == p)
			continue;
		if (all || logged || memcmp(g, p->data, len))
			memcpy(g, p->data, len);
		vm_page_hold(vm, gpa, p);
	}
}

int snapshot_restore(struct vm *vm, const struct guest_layout *lay,
		     const struct snapshot *snap)
{
	/* Registers first: a back end may run the guest to set what its
	 * registers cannot hold (QEMU), and memory then puts back all it
	 * wrote. */
	if (vm_set_state(vm, &snap->state))
		return -1;
	restore_pages(vm, lay, snap);
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

int snapshot_read(const struct snapshot *snap, const struct guest_layout *lay,
		  uint64_t gpa, void *buf, size_t len)
{
	uint8_t *out = buf;

	while (len) {
		size_t n = 0;

		FOR_EACH_RW_PAGE(lay, i, pg, pglen)
		{
			if (n || gpa < pg || gpa >= pg + pglen)
				continue;
			n = pg + pglen - gpa < len ? pg + pglen - gpa : len;
			memcpy(out, snap->pages[i]->data + (gpa - pg), n);
		}
		if (!n)
			return -1;
		out += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

void snapshot_free(struct snapshot *snap)
{
	if (snap->vm)
		vm_checkpoint_release(snap->vm, snap->state.checkpoint);
	snap->vm = NULL;
	snap->state.checkpoint = 0;
	for (size_t i = 0; snap->pages && i < snap->npages; i++)
		page_unref(snap->pages[i]);
	free(snap->pages);
	snap->pages = NULL;
	snap->npages = 0;
}
