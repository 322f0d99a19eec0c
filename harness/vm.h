/* The virtual machine the guest runs in: one vCPU, one slot of guest memory.
 *
 * Everything above this interface (stepper, trial, injectors) works on
 * struct vcpu_state and guest memory and never talks to a hypervisor
 * itself. Two back ends sit behind it: KVM (kvm.c), the fast one, and QEMU
 * (qemu.c), for machines without a usable /dev/kvm.
 */
#ifndef IST_VM_H
#define IST_VM_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

struct vm;

/* Everything of the vCPU a snapshot must hold and a trial restores. */
struct vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;	/* shadow, nmi.masked, pending events */
	struct kvm_debugregs debugregs; /* the guest's own DR0-3, DR6, DR7 */
	uint64_t kernel_gs_base; /* MSR_KERNEL_GS_BASE: SWAPGS's other half */
	uint64_t mcg_status;	 /* MCIP decides what a #MC does */
	uint64_t mc0_status, mc0_addr, mc0_misc; /* machine-check bank 0 */
	/* The guest sets these once, but SVM's shutdown handling wipes
	 * them: every restore puts them back. */
	uint64_t star, lstar, syscall_mask;
	/* A back end that cannot put all of the CPU back from the fields
	 * above keeps a checkpoint of its own (vm_checkpoint); 0 = none. */
	uint32_t checkpoint;
};

/* What a back end can do beyond NMI and #MC. */
enum vm_feature {
	VM_CAN_DB_PAYLOAD = 1 << 0, /* inject #DB with its DR6 payload */
	VM_CAN_GUEST_DR = 1 << 1,   /* set the guest's debug registers */
	/* The guest's own breakpoints still fire while the host has
	 * breakpoints armed (QEMU's gdb stub keeps them apart; KVM's guest
	 * debugging takes the debug registers over). */
	VM_GUEST_DR_BESIDE_HOST_BP = 1 << 2,
	/* The guest's data breakpoints fire, and a MOV SS shadow holds their
	 * trap past the next instruction as hardware does: VMX/SVM KVM. Not
	 * kvm_pvm (they never fire) nor QEMU (it raises the trap before the
	 * shadowed instruction): tests/test_model.c, fact 8. */
	VM_DATA_BP_HELD = 1 << 3,
	VM_CAN_IRQ = 1 << 4, /* raise a maskable interrupt (vm_raise_irq) */
	/* Breakpoints stop the guest at CPL3 too (not kvm_pvm, which runs
	 * ring 3 natively): user code can be traced (TRACE_USER). */
	VM_CAN_STEP_USER = 1 << 5,
};

/* A guest instruction a back end may need to know of: port I/O and HLT,
 * where a back end that cannot trap those by itself (QEMU) stops instead;
 * RDMSR, WRMSR, IRETQ, MOV to DRn and a store to the local APIC, which
 * such a back end runs to read and set what its debugger interface does not
 * show (MCG_STATUS, NMI blocking, the debug registers, a self-IPI). */
struct vm_code_site {
	uint64_t rip;
	uint8_t len;
	uint8_t opcode; /* 0xe6, 0xe7, 0xee, 0xef (OUT), 0xf4 (HLT), or
			   VM_SITE_{RDMSR,WRMSR,IRETQ,MOV_DR} */
	uint8_t port;	/* for OUT imm8 */
	uint8_t opsize; /* 1, 2 or 4 bytes */
	uint8_t dr;	/* for MOV to DRn: n */
	uint8_t gpr;	/* for MOV to DRn: the source, as encoded (0 = RAX,
			   1 = RCX, ... 15 = R15) */
};
#define VM_SITE_RDMSR  0x32 /* 0f 32 */
#define VM_SITE_WRMSR  0x30 /* 0f 30 */
#define VM_SITE_IRETQ  0xcf /* 48 cf */
#define VM_SITE_MOV_DR 0x23 /* 0f 23 /r */
/* lapic_write_gadget (boot.S): movl %eax, (%rdx), found by its symbol. */
#define VM_SITE_LAPIC_STORE 0x89

/* One machine-check event for bank 0, as KVM_X86_SET_MCE takes it. */
struct vm_mce {
	uint64_t status; /* MC0_STATUS: VAL, UC, EN, ADDRV, MISCV, PCC, ... */
	uint64_t addr, misc;
	uint64_t mcg_status; /* MCIP, RIPV, EIPV */
};

enum vm_exit_kind {
	VM_EXIT_IO,	    /* an OUT; port and value below */
	VM_EXIT_BREAKPOINT, /* a breakpoint set by vm_set_breakpoints */
	VM_EXIT_SHUTDOWN,   /* triple fault */
	VM_EXIT_HLT,	    /* HLT with nothing to wake it */
	VM_EXIT_TIMEOUT,    /* the wall-clock limit of vm_run passed */
	VM_EXIT_OTHER,	    /* anything else; detail says what */
};

struct vm_exit {
	enum vm_exit_kind kind;
	uint16_t port;
	uint32_t value;
	char detail[96];
};

/* Error classes of vm_open, so the command line can tell the user what to
 * do: the device is missing, not accessible, or there but unusable. */
enum vm_open_error {
	VM_OK = 0,
	VM_ERR_NO_DEVICE,
	VM_ERR_PERMISSION,
	VM_ERR_UNUSABLE,
};

/* Opens the KVM device (normally /dev/kvm) and creates a VM with mem_size
 * bytes of guest memory at GPA 0 and one vCPU. On failure returns the class
 * and writes a one-line reason with the fix into err. */
enum vm_open_error vm_open(const char *device, size_t mem_size, struct vm **out,
			   char *err, size_t errlen);
void vm_close(struct vm *vm);

/* Starts qemu-system-x86_64 (TCG) with mem_size bytes of guest memory
 * shared with the host, and drives it over its gdb stub and QMP. On failure
 * writes a one-line reason with the fix into err. */
enum vm_open_error vm_open_qemu(size_t mem_size, struct vm **out, char *err,
				size_t errlen);
/* The same with another accelerator: "kvm" (QEMU's -accel kvm; a QEMU gdb
 * stub on a hardware-speed vCPU, experimental) or "tcg". */
enum vm_open_error vm_open_qemu_accel(size_t mem_size, const char *accel,
				      struct vm **out, char *err,
				      size_t errlen);

/* VM_CAN_* of the back end. */
unsigned vm_features(const struct vm *vm);

/* What runs the guest, for every report header: e.g. "kvm_pvm (software
 * KVM back end: CPL0 guest code is emulated)". */
const char *vm_backend(const struct vm *vm);
/* Nonzero on the software back end whose quirks the harness works around
 * (shared/reference/kvm-here.md). */
int vm_is_software_backend(const struct vm *vm);

/* Host pointer to guest physical memory [gpa, gpa+len), or NULL. */
uint8_t *vm_mem(struct vm *vm, uint64_t gpa, size_t len);
size_t vm_mem_size(const struct vm *vm);

/* Copies code into guest physical memory. Unlike a plain write through
 * vm_mem, it makes a back end that caches translated code (QEMU's TCG)
 * forget what it translated from there. 0 or -1. */
int vm_load_code(struct vm *vm, uint64_t gpa, const void *code, size_t len);

/* Restoring guest memory by what changed (snapshot.c). The host records
 * which snapshot page (page_store.h) it wrote to each guest page; anything
 * else the host writes there (an image, code) makes it unknown again. A
 * back end that logs the guest's own writes (KVM's dirty log) says which
 * pages the guest wrote since the last call: bitmap, a bit per page of
 * guest memory; -1 when it cannot tell (QEMU), and then every page must
 * be compared. */
struct page;
const struct page *vm_page_held(const struct vm *vm, uint64_t gpa);
void vm_page_hold(struct vm *vm, uint64_t gpa, const struct page *p);
void vm_mem_written(struct vm *vm, uint64_t gpa, size_t len);
int vm_dirty_log(struct vm *vm, const uint64_t **bitmap);
/* The log missed a page the guest wrote: compare pages from now on. */
void vm_distrust_dirty_log(struct vm *vm);

/* Hands the stopped vCPU to a debugger: the back end's own breakpoints
 * removed, a gdb stub listening on 127.0.0.1:port, the vCPU stopped until
 * the debugger runs it (QEMU). Nothing but vm_close may follow. -1, with
 * why, when the back end cannot (KVM) or the port is taken. */
int vm_hand_over(struct vm *vm, unsigned port, char *err, size_t errlen);

/* The slow reference path the fast one is tested against: every restore
 * writes every writable page and puts each register set back through its
 * own ioctl. Off by default. */
void vm_set_reference_restore(struct vm *vm, int on);
int vm_reference_restore(const struct vm *vm);

/* Reads guest virtual memory through the guest's 4-level page tables rooted
 * at cr3. Returns -1 if any byte is unmapped. */
int vm_read_virt(struct vm *vm, uint64_t cr3, uint64_t va, void *buf,
		 size_t len);

/* vm_read_virt as a disasm.h mem_reader: ctx is a struct vm_reader. */
struct vm_reader {
	struct vm *vm;
	uint64_t cr3;
};
int vm_reader_read(void *ctx, uint64_t va, void *buf, size_t len);
/* Guest physical address of va, or -1 when unmapped. */
int vm_translate(struct vm *vm, uint64_t cr3, uint64_t va, uint64_t *gpa);

/* The registers and segment registers alone: what a stop at a breakpoint
 * needs, without the debug registers and MSRs (ioctls of their own on
 * KVM). */
void vm_get_regs(struct vm *vm, struct kvm_regs *regs, struct kvm_sregs *sregs);
void vm_get_state(struct vm *vm, struct vcpu_state *st);
int vm_set_state(struct vm *vm, const struct vcpu_state *st);
/* Lets vm_set_state(st) later put back what vm_get_state could not read
 * cheaply or at all: QEMU keeps its register image and hidden state (NMI
 * blocking, MCG_STATUS, the interrupt shadow, also written into st) under
 * st->checkpoint; KVM needs none. Call it where st was just read by
 * vm_get_state, with no event pending. Guest memory is the caller's: put it
 * back after vm_set_state, which may run the guest to set hidden state. */
int vm_checkpoint(struct vm *vm, struct vcpu_state *st);
/* The state that held checkpoint id is gone (snapshot_free): the back end
 * may reuse what it kept for it. */
void vm_checkpoint_release(struct vm *vm, uint32_t id);
/* Tells the back end where the guest's port I/O, HLT, RDMSR, WRMSR and
 * IRETQ instructions are (guest_boot does, from the image). */
void vm_note_code_sites(struct vm *vm, const struct vm_code_site *sites, int n);

/* Arms execute breakpoints at up to 4 addresses (n = 0 disarms all and
 * turns guest debugging off). */
int vm_set_breakpoints(struct vm *vm, const uint64_t *addrs, int n);

/* Makes an NMI pending, as the local APIC would: the CPU delivers it at the
 * next boundary where NMIs are not blocked. */
int vm_pend_nmi(struct vm *vm);

/* Makes a #DB pending as an exception whose payload (KVM_CAP_EXCEPTION_
 * PAYLOAD) is the DR6 bits its cause sets; delivery writes them to DR6. */
int vm_pend_debug_exception(struct vm *vm, uint64_t dr6_payload);

/* Raises the maskable interrupt `vector` on a vCPU standing where it can be
 * taken (IF=1, no shadow): the CPU delivers it before the next instruction.
 * KVM: injected through the events block (no in-kernel APIC); QEMU: the
 * guest's local APIC sends it to itself. */
int vm_raise_irq(struct vm *vm, uint8_t vector);

/* Signals a machine check in bank 0 (KVM_X86_SET_MCE). An uncorrected one
 * is delivered as #MC, or shuts the machine down while MCIP is set; a
 * corrected one only fills the bank. */
int vm_signal_mce(struct vm *vm, const struct vm_mce *mce);

/* The guest's debug registers take effect at the next run. */
int vm_set_guest_debugregs(struct vm *vm, const struct kvm_debugregs *dr);

/* Clears the enable bits of the guest's DR7 and touches nothing else (DR6
 * keeps the bits a #DB just set). */
int vm_disarm_guest_breakpoints(struct vm *vm);

/* CPU time the vCPU has had so far, in ns, or 0 when the back end cannot
 * tell. A run that timed out may not have run at all on a loaded machine:
 * this tells the two apart. */
uint64_t vm_vcpu_time_ns(struct vm *vm);

/* Runs until the next exit or timeout_ms of wall-clock time. Returns 0, or
 * -1 with exit->detail set when KVM itself failed. */
int vm_run(struct vm *vm, unsigned timeout_ms, struct vm_exit *exit);

#endif
