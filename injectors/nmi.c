/* NMI: made pending through kvm_vcpu_events.nmi.pending, as the local APIC
 * would. KVM then defers it past an interrupt shadow or NMI blocking exactly
 * as hardware does; forcing nmi.injected instead would skip that check and
 * reach states no CPU can. */
#include "../guest/ist_abi.h"
#include "injector.h"

static int inject_nmi(struct vm *vm, const struct injection *inj,
		      const struct vcpu_state *at)
{
	(void)inj;
	(void)at;
	return vm_pend_nmi(vm);
}

const struct injector nmi_injector = {
	.name = "nmi",
	.kind = EVENT_NMI,
	.vector = IST_VEC_NMI,
	.ist_index = IST_INDEX_NMI,
	.inject = inject_nmi,
};
