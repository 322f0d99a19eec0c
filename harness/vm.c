/* vm.h's functions: each goes to the back end that opened the VM, except
 * guest memory, which every back end shares with the host the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page_store.h"
#include "vm_backend.h"

#define PAGE_SHIFT 12

void vm_close(struct vm *vm)
{
	if (!vm)
		return;
	vm_mem_written(vm, 0, vm->mem_size);
	free(vm->held);
	vm->held = NULL;
	vm->ops->close(vm);
}

const struct page *vm_page_held(const struct vm *vm, uint64_t gpa)
{
	if (!vm->held || gpa >= vm->mem_size)
		return NULL;
	return vm->held[gpa >> PAGE_SHIFT];
}

void vm_page_hold(struct vm *vm, uint64_t gpa, const struct page *p)
{
	struct page **slot;

	if (!vm->held)
		vm->held =
			calloc(vm->mem_size >> PAGE_SHIFT, sizeof(*vm->held));
	if (!vm->held || gpa >= vm->mem_size)
		return;
	slot = &vm->held[gpa >> PAGE_SHIFT];
	if (*slot == p)
		return;
	page_unref(*slot);
	*slot = page_ref((struct page *)p);
}

void vm_mem_written(struct vm *vm, uint64_t gpa, size_t len)
{
	if (!vm->held || !len)
		return;
	for (uint64_t pg = gpa >> PAGE_SHIFT;
	     pg <= (gpa + len - 1) >> PAGE_SHIFT &&
	     pg < vm->mem_size >> PAGE_SHIFT;
	     pg++) {
		page_unref(vm->held[pg]);
		vm->held[pg] = NULL;
	}
}

int vm_dirty_log(struct vm *vm, const uint64_t **bitmap)
{
	if (vm->dirty_log_distrusted || !vm->ops->dirty_log)
		return -1;
	return vm->ops->dirty_log(vm, bitmap);
}

void vm_distrust_dirty_log(struct vm *vm)
{
	vm->dirty_log_distrusted = 1;
}

void vm_set_reference_restore(struct vm *vm, int on)
{
	vm->reference_restore = on;
}

int vm_reference_restore(const struct vm *vm)
{
	return vm->reference_restore;
}

const char *vm_backend(const struct vm *vm)
{
	return vm->backend;
}

int vm_is_software_backend(const struct vm *vm)
{
	return vm->software;
}

unsigned vm_features(const struct vm *vm)
{
	return vm->features;
}

uint8_t *vm_mem(struct vm *vm, uint64_t gpa, size_t len)
{
	if (gpa > vm->mem_size || len > vm->mem_size - gpa)
		return NULL;
	return vm->mem + gpa;
}

size_t vm_mem_size(const struct vm *vm)
{
	return vm->mem_size;
}

int vm_load_code(struct vm *vm, uint64_t gpa, const void *code, size_t len)
{
	uint8_t *dst = vm_mem(vm, gpa, len);

	if (!dst)
		return -1;
	memcpy(dst, code, len);
	vm_mem_written(vm, gpa, len);
	return vm->ops->code_written ? vm->ops->code_written(vm, gpa, len) : 0;
}

int vm_translate(struct vm *vm, uint64_t cr3, uint64_t va, uint64_t *gpa)
{
	uint64_t table = cr3 & 0x000ffffffffff000ULL;

	for (int level = 3; level >= 0; level--) {
		unsigned idx = (va >> (12 + 9 * level)) & 0x1ff;
		uint64_t *pte_p = (uint64_t *)vm_mem(vm, table + idx * 8, 8);
		uint64_t pte, mask;

		if (!pte_p)
			return -1;
		pte = *pte_p;
		if (!(pte & 1))
			return -1;
		/* A large page at the PDPT (1 GiB) or PD (2 MiB) level. */
		if ((level == 2 || level == 1) && (pte & 0x80)) {
			mask = (1ULL << (12 + 9 * level)) - 1;
			*gpa = (pte & 0x000fffffffffe000ULL & ~mask) |
			       (va & mask);
			return 0;
		}
		table = pte & 0x000ffffffffff000ULL;
	}
	*gpa = table | (va & 0xfff);
	return 0;
}

int vm_read_virt(struct vm *vm, uint64_t cr3, uint64_t va, void *buf,
		 size_t len)
{
	uint8_t *out = buf;

	while (len) {
		size_t chunk = 4096 - (va & 0xfff);
		uint64_t gpa;
		uint8_t *src;

		if (chunk > len)
			chunk = len;
		if (vm_translate(vm, cr3, va, &gpa))
			return -1;
		src = vm_mem(vm, gpa, chunk);
		if (!src)
			return -1;
		memcpy(out, src, chunk);
		out += chunk;
		va += chunk;
		len -= chunk;
	}
	return 0;
}

void vm_get_state(struct vm *vm, struct vcpu_state *st)
{
	vm->ops->get_state(vm, st);
}

void vm_get_regs(struct vm *vm, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	struct vcpu_state st;

	if (vm->ops->get_regs) {
		vm->ops->get_regs(vm, regs, sregs);
		return;
	}
	vm->ops->get_state(vm, &st);
	*regs = st.regs;
	*sregs = st.sregs;
}

int vm_set_state(struct vm *vm, const struct vcpu_state *st)
{
	return vm->ops->set_state(vm, st);
}

void vm_checkpoint_release(struct vm *vm, uint32_t id)
{
	if (id && vm->ops->release_checkpoint)
		vm->ops->release_checkpoint(vm, id);
}

int vm_checkpoint(struct vm *vm, struct vcpu_state *st)
{
	return vm->ops->checkpoint ? vm->ops->checkpoint(vm, st) : 0;
}

void vm_note_code_sites(struct vm *vm, const struct vm_code_site *sites, int n)
{
	if (vm->ops->note_code_sites)
		vm->ops->note_code_sites(vm, sites, n);
}

int vm_set_breakpoints(struct vm *vm, const uint64_t *addrs, int n)
{
	return vm->ops->set_breakpoints(vm, addrs, n);
}

int vm_pend_nmi(struct vm *vm)
{
	return vm->ops->pend_nmi(vm);
}

int vm_pend_debug_exception(struct vm *vm, uint64_t dr6_payload)
{
	return vm->ops->pend_debug_exception
		       ? vm->ops->pend_debug_exception(vm, dr6_payload)
		       : -1;
}

uint64_t vm_vcpu_time_ns(struct vm *vm)
{
	return vm->ops->vcpu_time_ns ? vm->ops->vcpu_time_ns(vm) : 0;
}

int vm_raise_irq(struct vm *vm, uint8_t vector)
{
	return vm->ops->raise_irq ? vm->ops->raise_irq(vm, vector) : -1;
}

int vm_signal_mce(struct vm *vm, const struct vm_mce *mce)
{
	return vm->ops->signal_mce(vm, mce);
}

int vm_set_guest_debugregs(struct vm *vm, const struct kvm_debugregs *dr)
{
	return vm->ops->set_guest_debugregs
		       ? vm->ops->set_guest_debugregs(vm, dr)
		       : -1;
}

int vm_disarm_guest_breakpoints(struct vm *vm)
{
	struct vcpu_state st;

	if (vm->ops->disarm_guest_breakpoints)
		return vm->ops->disarm_guest_breakpoints(vm);
	vm_get_state(vm, &st);
	st.debugregs.dr7 &= ~0xffULL;
	return vm_set_guest_debugregs(vm, &st.debugregs);
}

int vm_run(struct vm *vm, unsigned timeout_ms, struct vm_exit *exit)
{
	return vm->ops->run(vm, timeout_ms, exit);
}

int vm_reader_read(void *ctx, uint64_t va, void *buf, size_t len)
{
	struct vm_reader *r = ctx;
	return vm_read_virt(r->vm, r->cr3, va, buf, len);
}

int vm_hand_over(struct vm *vm, unsigned port, char *err, size_t errlen)
{
	if (!vm->ops->hand_over) {
		snprintf(err, errlen,
			 "the %s back end cannot hand the CPU to gdb: use "
			 "--backend qemu",
			 vm->backend);
		return -1;
	}
	return vm->ops->hand_over(vm, port, err, errlen);
}
