/* KVM back end of vm.h.
 *
 * Registers, segment registers and events go through kvm_run->s.regs
 * (KVM_CAP_SYNC_REGS): KVM copies them out at every exit and in at the next
 * KVM_RUN when marked dirty, so restoring a snapshot and injecting an NMI
 * cost no ioctl of their own. On a nested or software back end each vCPU
 * ioctl costs about as much as a whole round trip.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../guest/ist_abi.h"
#include "vm_backend.h"

#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_STAR	   0xc0000081
#define MSR_LSTAR	   0xc0000082
#define MSR_SYSCALL_MASK   0xc0000084
#define MCE_BANKS	   1
#define SYNC_SETS	   (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)

struct kvm_vm {
	struct vm base; /* first: vm.c sees only this */
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	int debug_on;
	int io_pending; /* the last exit was an OUT/MMIO KVM must complete */
	uint64_t bp[4];
	int nbp;
	timer_t timer;
	int have_timer;
	/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is on: the guest's writes are
	 * logged (kvm_dirty_log), a bit per page of guest memory. */
	uint64_t *dirty;
	int dirty_logged;
	/* The guest's debug registers and state MSRs as last read or
	 * written, while nothing can have changed them (no run since): a
	 * restore to the same values skips their ioctls. */
	struct kvm_debugregs known_dr;
	uint64_t known_msr[16];
	int known;
};

static const struct vm_ops kvm_ops;
static void kvm_close(struct vm *base);
static int flush_sync_regs(struct kvm_vm *vm);
static int kvm_set_guest_debugregs(struct vm *base,
				   const struct kvm_debugregs *dr);

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

/* The kvm_run of the vCPU this thread is running, for the timer signal. */
static __thread struct kvm_run *running;

/* Set by the run's own timer: an EINTR without it is another signal
 * (a sweep's SIGINT or SIGTERM, which stops it cleanly after the trial),
 * and the run goes on. */
static volatile sig_atomic_t timer_fired;

static void on_timeout(int sig)
{
	(void)sig;
	timer_fired = 1;
	if (running)
		running->immediate_exit = 1;
}

static void detect_backend(struct kvm_vm *vm)
{
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		snprintf(vm->base.backend, sizeof(vm->base.backend),
			 "kvm_pvm (software KVM back end: CPL0 guest code is "
			 "emulated)");
		vm->base.software = 1;
	} else if (access("/sys/module/kvm_intel", F_OK) == 0) {
		snprintf(vm->base.backend, sizeof(vm->base.backend),
			 "kvm_intel (VMX)");
	} else if (access("/sys/module/kvm_amd", F_OK) == 0) {
		snprintf(vm->base.backend, sizeof(vm->base.backend),
			 "kvm_amd (SVM)");
	} else {
		snprintf(vm->base.backend, sizeof(vm->base.backend),
			 "kvm (back end not identified)");
	}
}

static int set_cpuid(struct kvm_vm *vm)
{
	int nent = 128;
	struct kvm_cpuid2 *c;
	int rc;

	c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	if (!c)
		return -1;
	c->nent = nent;
	rc = ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
	/* No in-kernel irqchip: the guest has no local APIC to program (it
	 * would be MMIO exits), and interrupts are injected directly. */
	for (uint32_t i = 0; rc == 0 && i < c->nent; i++) {
		if (c->entries[i].function != 1)
			continue;
		c->entries[i].edx &= ~(1u << 9);  /* APIC */
		c->entries[i].ecx &= ~(1u << 21); /* x2APIC */
	}
	if (rc == 0)
		rc = ioctl(vm->vcpu_fd, KVM_SET_CPUID2, c);
	free(c);
	return rc;
}

/* #DB with a DR6 payload, and machine checks in one bank. */
static int enable_event_caps(struct kvm_vm *vm, char *err, size_t errlen)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_EXCEPTION_PAYLOAD,
				     .args = {1}};
	uint64_t mcg_cap;

	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap)) {
		snprintf(err, errlen,
			 "KVM lacks KVM_CAP_EXCEPTION_PAYLOAD (needed to "
			 "inject #DB): %s",
			 strerror(errno));
		return -1;
	}
	if (ioctl(vm->kvm_fd, KVM_X86_GET_MCE_CAP_SUPPORTED, &mcg_cap))
		mcg_cap = 0;
	mcg_cap = (mcg_cap & ~0xffULL) | MCE_BANKS;
	if (ioctl(vm->vcpu_fd, KVM_X86_SETUP_MCE, &mcg_cap)) {
		snprintf(err, errlen,
			 "KVM_X86_SETUP_MCE failed (needed to inject #MC): %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int setup_timer(struct kvm_vm *vm)
{
	struct sigaction sa = {.sa_handler = on_timeout};
	struct sigevent sev = {0};

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	if (sigaction(SIGRTMIN, &sa, NULL))
		return -1;
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN;
	sev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &vm->timer))
		return -1;
	vm->have_timer = 1;
	return 0;
}

/* Logs the guest's writes to its memory, re-protected by the harness
 * (KVM_CLEAR_DIRTY_LOG) rather than by every KVM_GET_DIRTY_LOG, so a restore
 * writes just the pages the guest wrote. Without the capability a restore
 * compares every writable page instead. Called before the slot exists. */
static void enable_dirty_log(struct kvm_vm *vm,
			     struct kvm_userspace_memory_region *region)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.args = {KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE}};
	size_t pages = vm->base.mem_size / 4096;

	if (getenv("IST_NO_DIRTY_LOG") ||
	    !(ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
		    KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) &
	      KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) ||
	    ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap))
		return;
	vm->dirty = calloc((pages + 63) / 64, sizeof(uint64_t));
	if (!vm->dirty)
		return;
	region->flags |= KVM_MEM_LOG_DIRTY_PAGES;
	vm->dirty_logged = 1;
}

static int kvm_dirty_log(struct vm *base, const uint64_t **bitmap)
{
	struct kvm_vm *vm = (struct kvm_vm *)base;
	size_t pages = vm->base.mem_size / 4096, words = (pages + 63) / 64;
	struct kvm_dirty_log log = {.slot = 0, .dirty_bitmap = vm->dirty};
	struct kvm_clear_dirty_log clear = {.slot = 0,
					    .num_pages = (uint32_t)pages,
					    .first_page = 0,
					    .dirty_bitmap = vm->dirty};
	uint64_t any = 0;

	if (!vm->dirty_logged)
		return -1;
	memset(vm->dirty, 0, words * sizeof(uint64_t));
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log))
		return -1;
	for (size_t i = 0; i < words; i++)
		any |= vm->dirty[i];
	/* Written pages are writable again until cleared: clear them now,
	 * before the guest runs from the restored state. */
	if (any && ioctl(vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear))
		return -1;
	*bitmap = vm->dirty;
	return 0;
}

enum vm_open_error vm_open(const char *device, size_t mem_size, struct vm **out,
			   char *err, size_t errlen)
{
	struct kvm_userspace_memory_region region = {0};
	struct kvm_vm *vm;
	int api;

	*out = NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		snprintf(err, errlen, "out of memory");
		return VM_ERR_UNUSABLE;
	}
	vm->base.ops = &kvm_ops;
	vm->base.features = VM_CAN_DB_PAYLOAD | VM_CAN_GUEST_DR | VM_CAN_IRQ;
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
	vm->kvm_fd = open(device, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;
		free(vm);
		if (e == ENOENT || e == ENODEV || e == ENXIO) {
			snprintf(err, errlen,
				 "%s does not exist: load the kvm_intel or "
				 "kvm_amd module, or run on a machine (or CI "
				 "runner) that exposes KVM",
				 device);
			return VM_ERR_NO_DEVICE;
		}
		if (e == EACCES || e == EPERM) {
			snprintf(err, errlen,
				 "no permission to open %s: add your user to "
				 "the 'kvm' group (then log in again) or run "
				 "as root",
				 device);
			return VM_ERR_PERMISSION;
		}
		snprintf(err, errlen, "cannot open %s: %s", device,
			 strerror(e));
		return VM_ERR_UNUSABLE;
	}
	*out = &vm->base;
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		snprintf(err, errlen,
			 "%s is not a usable KVM device (API version %d, "
			 "expected %d)",
			 device, api, KVM_API_VERSION);
		goto unusable;
	}
	if ((ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) &
	     SYNC_SETS) != SYNC_SETS) {
		snprintf(err, errlen,
			 "KVM on this machine lacks KVM_CAP_SYNC_REGS for "
			 "regs/sregs/events; a newer kernel is needed");
		goto unusable;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		snprintf(err, errlen,
			 "KVM_CREATE_VM failed on %s: %s (is virtualization "
			 "enabled, and not held by another hypervisor?)",
			 device, strerror(errno));
		goto unusable;
	}
	vm->base.mem_size = mem_size;
	vm->base.mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->base.mem == MAP_FAILED) {
		vm->base.mem = NULL;
		snprintf(err, errlen, "cannot map %zu bytes of guest memory",
			 mem_size);
		goto unusable;
	}
	enable_dirty_log(vm, &region);
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = mem_size;
	region.userspace_addr = (uint64_t)(uintptr_t)vm->base.mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region)) {
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION failed: %s",
			 strerror(errno));
		goto unusable;
	}
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VCPU failed: %s",
			 strerror(errno));
		goto unusable;
	}
	vm->run_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		snprintf(err, errlen, "cannot map the vCPU's kvm_run area");
		goto unusable;
	}
	if (set_cpuid(vm)) {
		snprintf(err, errlen, "cannot set the guest's CPUID: %s",
			 strerror(errno));
		goto unusable;
	}
	if (enable_event_caps(vm, err, errlen))
		goto unusable;
	if (setup_timer(vm)) {
		snprintf(err, errlen, "cannot create the trial timer: %s",
			 strerror(errno));
		goto unusable;
	}
	vm->run->kvm_valid_regs = SYNC_SETS;
	detect_backend(vm);
	if (!vm->base.software)
		vm->base.features |= VM_DATA_BP_HELD | VM_CAN_STEP_USER;
	return VM_OK;

unusable:
	kvm_close(&vm->base);
	*out = NULL;
	return VM_ERR_UNUSABLE;
}

static void kvm_close(struct vm *base)
{
	struct kvm_vm *vm = (struct kvm_vm *)base;
	if (!vm)
		return;
	if (vm->have_timer)
		timer_delete(vm->timer);
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->base.mem)
		munmap(vm->base.mem, vm->base.mem_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->dirty);
	free(vm);
}

/* The MSRs a snapshot holds, in one KVM_{GET,SET}_MSRS each way. */
static const uint32_t state_msrs[] = {
	MSR_KERNEL_GS_BASE, IST_MSR_MCG_STATUS, IST_MSR_MC0_STATUS,
	IST_MSR_MC0_ADDR,   IST_MSR_MC0_MISC,	MSR_STAR,
	MSR_LSTAR,	    MSR_SYSCALL_MASK,
};
#define NSTATE_MSRS (sizeof(state_msrs) / sizeof(state_msrs[0]))
_Static_assert(NSTATE_MSRS <= 16, "kvm_vm.known_msr holds 16");

static uint64_t *state_msr_slot(struct vcpu_state *st, size_t i)
{
	uint64_t *slots[NSTATE_MSRS] = {
		&st->kernel_gs_base, &st->mcg_status,	&st->mc0_status,
		&st->mc0_addr,	     &st->mc0_misc,	&st->star,
		&st->lstar,	     &st->syscall_mask,
	};
	return slots[i];
}

static int state_msrs_io(struct kvm_vm *vm, struct vcpu_state *st, int set)
{
	/* struct kvm_msrs ends in a flexible array: room for it, aligned. */
	uint64_t buf[(sizeof(struct kvm_msrs) +
		      NSTATE_MSRS * sizeof(struct kvm_msr_entry)) /
			     sizeof(uint64_t) +
		     1];
	struct kvm_msrs *m = (struct kvm_msrs *)buf;

	memset(buf, 0, sizeof(buf));
	m->nmsrs = NSTATE_MSRS;
	for (size_t i = 0; i < NSTATE_MSRS; i++) {
		m->entries[i].index = state_msrs[i];
		if (set)
			m->entries[i].data = *state_msr_slot(st, i);
	}
	if (ioctl(vm->vcpu_fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, m) !=
	    (int)NSTATE_MSRS)
		return -1;
	for (size_t i = 0; !set && i < NSTATE_MSRS; i++)
		*state_msr_slot(st, i) = m->entries[i].data;
	return 0;
}

static void kvm_get_state(struct vm *base, struct vcpu_state *st)
{
	struct kvm_vm *vm = (struct kvm_vm *)base;
	st->regs = vm->run->s.regs.regs;
	st->sregs = vm->run->s.regs.sregs;
	st->events = vm->run->s.regs.events;
	vm->known = 1;
	if (ioctl(vm->vcpu_fd, KVM_GET_DEBUGREGS, &st->debugregs)) {
		memset(&st->debugregs, 0, sizeof(st->debugregs));
		vm->known = 0;
	}
	if (state_msrs_io(vm, st, 0)) {
		st->kernel_gs_base = st->mcg_status = 0;
		vm->known = 0;
	}
	vm->known_dr = st->debugregs;
	for (size_t i = 0; i < NSTATE_MSRS; i++)
		vm->known_msr[i] = *state_msr_slot(st, i);
}

/* Registers and segment registers alone: from the sync area, no ioctl. */
static void kvm_get_regs(struct vm *base, struct kvm_regs *regs,
			 struct kvm_sregs *sregs)
{
	struct kvm_vm *vm = (struct kvm_vm *)base;

	*regs = vm->run->s.regs.regs;
	*sregs = vm->run->s.regs.sregs;
}

static int same_debugregs(const struct kvm_debugregs *a,
			  const struct kvm_debugregs *b)
{
	return !memcmp(a->db, b->db, sizeof(a->db)) && a->dr6 == b->dr6 &&
	       a->dr7 == b->dr7;
}

static int same_msrs(const struct kvm_vm *vm, const struct vcpu_state *st)
{
	for (size_t i = 0; i < NSTATE_MSRS; i++)
		if (vm->known_msr[i] !=
		    *state_msr_slot((struct vcpu_state *)st, i))
			return 0;
	return 1;
}

/* KVM finishes an I/O instruction at the next KVM_RUN, on whatever state
 * the vCPU then has. Before a different state is put in, let it finish on
 * its own (api.rst: KVM_RUN with immediate_exit set). */
static void complete_pending_io(struct kvm_vm *vm)
{
	if (!vm->io_pending)
		return;
	vm->known = 0; /* it enters KVM: not assumed to leave DR6 alone */
	vm->run->immediate_exit = 1;
	ioctl(vm->vcpu_fd, KVM_RUN, 0);
	vm->run->immediate_exit = 0;
	vm->io_pending = 0;
}

static int kvm_set_state(struct vm *base, const struct vcpu_state *st)
{
	struct kvm_vm *vm = (struct kvm_vm *)base;
	complete_pending_io(vm);
	vm->run->s.regs.regs = st->regs;
	vm->run->s.regs.sregs = st->sregs;
	vm->run->s.regs.events = st->events;
	vm->run->kvm_dirty_regs |= SYNC_SETS;
	/* The reference path: each set through its own ioctl, now. */
	if (vm_reference_restore(base)) {
		if (flush_sync_regs(vm))
			return -1;
		vm->known = 0;
	}
	if (!(vm->known && same_debugregs(&vm->known_dr, &st->debugregs)) &&
	    kvm_set_guest_debugregs(&vm->base, &st->debugregs))
		return -1;
	if (!(vm->known && same_msrs(vm, st)) &&
	    state_msrs_io(vm, (struct vcpu_state *)st, 1)) {
		vm->known = 0;
		return -1;
	}
	vm->known_dr = st->debugregs;
	for (size_t i = 0; i < NSTATE_MSRS; i++)
		vm->known_msr[i] = *state_msr_slot((struct vcpu_state *)st, i);
	vm->known = 1;
	return 0;
}

static int kvm_set_guest_debugregs(struct vm *base,
				   const struct kvm_debugregs *dr)
{
	struct kvm_vm *vm = (struct kvm_vm *)base;
	struct kvm_debugregs d = *dr;

	vm->known = 0; /* kvm_set_state sets it again once all is set */
	d.flags = 0;
	return ioctl(vm->vcpu_fd, KVM_SET_DEBUGREGS, &d) ? -1 : 0;
}

static int kvm_pend_debug_exception(struct vm *base, uint64_t dr6_payload)
{
	struct kvm_vm *vm = (struct kvm_vm *)base;
	struct kvm_vcpu_events *ev = &vm->run->s.regs.events;

	ev->exception.pending = 1;
	ev->exception.injected = 0;
	ev->exception.nr = 1;
	ev->exception.has_error_code = 0;
	ev->exception_has_payload = 1;
	ev->exception_payload = dr6_payload;
	ev->flags |= KVM_VCPUEVENT_VALID_PAYLOAD;
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
	return 0;
}

static int flush_sync_regs(struct kvm_vm *vm)
{
	struct kvm_run *run = vm->run;

	if ((run->kvm_dirty_regs & KVM_SYNC_X86_REGS) &&
	    ioctl(vm->vcpu_fd, KVM_SET_REGS, &run->s.regs.regs))
		return -1;
	if ((run->kvm_dirty_regs & KVM_SYNC_X86_SREGS) &&
	    ioctl(vm->vcpu_fd, KVM_SET_SREGS, &run->s.regs.sregs))
		return -1;
	if ((run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS) &&
	    ioctl(vm->vcpu_fd, KVM_SET_VCPU_EVENTS, &run->s.regs.events))
		return -1;
	run->kvm_dirty_regs = 0;
	return 0;
}

static int kvm_signal_mce(struct vm *base, const struct vm_mce *mce)
{
	struct kvm_vm *vm = (struct kvm_vm *)base;
	struct kvm_x86_mce m = {
		.status = mce->status,
		.addr = mce->addr,
		.misc = mce->misc,
		.mcg_status = mce->mcg_status,
		.bank = 0,
	};

	vm->known = 0; /* MCG_STATUS and the bank change */
	/* KVM_X86_SET_MCE acts at once, on the vCPU as it is now: the
	 * restored state still waiting in kvm_run must land first, or it
	 * would be applied over the #MC the call queues. */
	if (flush_sync_regs(vm))
		return -1;
	return ioctl(vm->vcpu_fd, KVM_X86_SET_MCE, &m) ? -1 : 0;
}

static int kvm_set_breakpoints(struct vm *base, const uint64_t *addrs, int n)
{
	struct kvm_vm *vm = (struct kvm_vm *)base;
	struct kvm_guest_debug dbg = {0};

	if (n > 4)
		return -1;
	if (n == vm->nbp && vm->debug_on == (n > 0) &&
	    (n == 0 || memcmp(addrs, vm->bp, n * sizeof(*addrs)) == 0))
		return 0;
	if (n > 0) {
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
		for (int i = 0; i < n; i++) {
			dbg.arch.debugreg[i] = addrs[i];
			/* Local enable, execute, length 1. */
			dbg.arch.debugreg[7] |= 1ULL << (2 * i);
		}
	}
	vm->known = 0; /* not seen to touch the guest's DRs; not assumed */
	if (ioctl(vm->vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg))
		return -1;
	if (n > 0)
		memcpy(vm->bp, addrs, n * sizeof(*addrs));
	vm->nbp = n;
	vm->debug_on = n > 0;
	return 0;
}

static int kvm_pend_nmi(struct vm *base)
{
	struct kvm_vm *vm = (struct kvm_vm *)base;
	struct kvm_vcpu_events *ev = &vm->run->s.regs.events;

	ev->nmi.pending = 1;
	ev->flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
	return 0;
}

/* No in-kernel irqchip: the interrupt goes straight into the events block,
 * as KVM_INTERRUPT would queue it, and is delivered on the next entry. */
static int kvm_raise_irq(struct vm *base, uint8_t vector)
{
	struct kvm_vm *vm = (struct kvm_vm *)base;
	struct kvm_vcpu_events *ev = &vm->run->s.regs.events;

	ev->interrupt.injected = 1;
	ev->interrupt.nr = vector;
	ev->interrupt.soft = 0;
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
	return 0;
}

/* KVM_RUN runs the guest on this thread: its CPU time is the vCPU's. */
static uint64_t kvm_vcpu_time_ns(struct vm *base)
{
	struct timespec ts;

	(void)base;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void arm_timer(struct kvm_vm *vm, unsigned ms)
{
	struct itimerspec its = {0};

	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	timer_settime(vm->timer, 0, &its, NULL);
}

static int kvm_run(struct vm *base, unsigned timeout_ms, struct vm_exit *exit)
{
	struct kvm_vm *vm = (struct kvm_vm *)base;
	struct kvm_run *run = vm->run;
	struct timespec start, now;
	long long spent;
	int rc, e;

	memset(exit, 0, sizeof(*exit));
	vm->known = 0; /* the guest may write its DRs and MSRs */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (unsigned left = timeout_ms;;) {
		timer_fired = 0;
		running = run;
		arm_timer(vm, left);
		rc = ioctl(vm->vcpu_fd, KVM_RUN, 0);
		e = errno;
		arm_timer(vm, 0);
		running = NULL;
		run->immediate_exit = 0;
		if (rc >= 0 || e != EINTR || timer_fired)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		spent = (now.tv_sec - start.tv_sec) * 1000 +
			(now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= timeout_ms)
			break;
		left = timeout_ms - (unsigned)spent;
	}
	if (rc < 0) {
		if (e == EINTR) {
			exit->kind = VM_EXIT_TIMEOUT;
			return 0;
		}
		exit->kind = VM_EXIT_OTHER;
		snprintf(exit->detail, sizeof(exit->detail), "KVM_RUN: %s",
			 strerror(e));
		return -1;
	}
	run->kvm_dirty_regs = 0;
	vm->io_pending = run->exit_reason == KVM_EXIT_IO ||
			 run->exit_reason == KVM_EXIT_MMIO;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit->kind = VM_EXIT_IO;
		exit->port = run->io.port;
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			uint8_t *d = (uint8_t *)run + run->io.data_offset;
			uint32_t v = 0;
			memcpy(&v, d, run->io.size <= 4 ? run->io.size : 4);
			exit->value = v;
		}
		break;
	case KVM_EXIT_DEBUG:
		exit->kind = VM_EXIT_BREAKPOINT;
		break;
	case KVM_EXIT_SHUTDOWN:
		exit->kind = VM_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_HLT:
		exit->kind = VM_EXIT_HLT;
		break;
	case KVM_EXIT_MMIO:
		exit->kind = VM_EXIT_OTHER;
		snprintf(exit->detail, sizeof(exit->detail),
			 "%s of unbacked guest physical address 0x%llx",
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr);
		break;
	case KVM_EXIT_INTR:
		exit->kind = VM_EXIT_TIMEOUT;
		break;
	default:
		exit->kind = VM_EXIT_OTHER;
		snprintf(exit->detail, sizeof(exit->detail),
			 "KVM exit reason %u", run->exit_reason);
	}
	return 0;
}

static const struct vm_ops kvm_ops = {
	.close = kvm_close,
	.get_state = kvm_get_state,
	.get_regs = kvm_get_regs,
	.set_state = kvm_set_state,
	.set_breakpoints = kvm_set_breakpoints,
	.pend_nmi = kvm_pend_nmi,
	.pend_debug_exception = kvm_pend_debug_exception,
	.signal_mce = kvm_signal_mce,
	.raise_irq = kvm_raise_irq,
	.set_guest_debugregs = kvm_set_guest_debugregs,
	.run = kvm_run,
	.vcpu_time_ns = kvm_vcpu_time_ns,
	.dirty_log = kvm_dirty_log,
};
