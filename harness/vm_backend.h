/* What a back end of vm.h provides: its functions, and the part of struct vm
 * every back end shares (guest memory, its name). Only vm.c, kvm.c and
 * qemu.c include this; everything else sees vm.h alone.
 */
#ifndef IST_VM_BACKEND_H
#define IST_VM_BACKEND_H

#include "vm.h"

struct vm_ops {
	void (*close)(struct vm *vm);
	void (*get_state)(struct vm *vm, struct vcpu_state *st);
	/* Optional: registers and segment registers alone, cheaper. */
	void (*get_regs)(struct vm *vm, struct kvm_regs *regs,
			 struct kvm_sregs *sregs);
	int (*set_state)(struct vm *vm, const struct vcpu_state *st);
	int (*checkpoint)(struct vm *vm, struct vcpu_state *st);
	/* Optional: a checkpoint's snapshot is freed. */
	void (*release_checkpoint)(struct vm *vm, uint32_t id);
	int (*code_written)(struct vm *vm, uint64_t gpa, size_t len);
	void (*note_code_sites)(struct vm *vm, const struct vm_code_site *sites,
				int n);
	int (*set_breakpoints)(struct vm *vm, const uint64_t *addrs, int n);
	int (*pend_nmi)(struct vm *vm);
	int (*pend_debug_exception)(struct vm *vm, uint64_t dr6_payload);
	int (*signal_mce)(struct vm *vm, const struct vm_mce *mce);
	/* Optional (VM_CAN_IRQ). */
	int (*raise_irq)(struct vm *vm, uint8_t vector);
	int (*set_guest_debugregs)(struct vm *vm,
				   const struct kvm_debugregs *dr);
	/* Optional; without it vm.c reads the debug registers and writes
	 * them back with DR7's enables cleared. */
	int (*disarm_guest_breakpoints)(struct vm *vm);
	int (*run)(struct vm *vm, unsigned timeout_ms, struct vm_exit *exit);
	/* Optional: CPU time the vCPU has had, in ns (0: not known). */
	uint64_t (*vcpu_time_ns)(struct vm *vm);
	/* Optional: the guest pages the guest wrote since the last call, a
	 * bit per page of guest memory; -1 when it cannot tell. */
	int (*dirty_log)(struct vm *vm, const uint64_t **bitmap);
	/* Optional: vm_hand_over. */
	int (*hand_over)(struct vm *vm, unsigned port, char *err,
			 size_t errlen);
};

/* The first member of every back end's own struct. */
struct vm {
	const struct vm_ops *ops;
	uint8_t *mem; /* guest physical memory from GPA 0, shared with it */
	size_t mem_size;
	char backend[96];
	int software;
	unsigned features; /* VM_CAN_* */
	/* Per guest page, the snapshot page (page_store.h) the host last
	 * wrote there, or NULL when not known: vm_page_held. Each holds a
	 * reference, so that no freed page's address, reused by another
	 * page, is taken for it. */
	struct page **held;
	int reference_restore;
	int dirty_log_distrusted; /* it missed a write: not used again */
};

#endif
