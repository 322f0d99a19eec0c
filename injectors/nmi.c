/* NMI: made pending through kvm_vcpu_events.nmi.pending, as the local APIC
 * would. KVM then defers it past an interrupt shadow or NMI blocking exactly
 * as hardware does; forcing nmi.injected instead would skip that check and
 * reach states no CPU can. */
#include "injector.h"

static int inject_nmi(struct vm *vm, const struct injection *inj)
{
	(void)inj;
	return vm_pend_nmi(vm);
}

const struct injector nmi_injector = {
	.name = "nmi",
	.kind = EVENT_NMI,
	.vector = 2,
	.inject = inject_nmi,
};
