/* #MC: a machine check signalled in bank 0 through KVM_X86_SET_MCE, with
 * MC0_STATUS/ADDR/MISC and MCG_STATUS as the schedule chose them (MCIP,
 * RIPV and EIPV are the schedule's to pass). KVM delivers an uncorrected one
 * as #MC, or shuts the machine down while MCIP is set, as hardware does. */
#include "../guest/ist_abi.h"
#include "injector.h"

static int inject_mc(struct vm *vm, const struct injection *inj,
		     const struct vcpu_state *at)
{
	struct vm_mce mce = {
		.status = inj->mc_status,
		.addr = inj->mc_addr,
		.misc = inj->mc_misc,
		.mcg_status = inj->mcg_status,
	};

	(void)at;
	return vm_signal_mce(vm, &mce);
}

const struct injector mc_injector = {
	.name = "mc",
	.kind = EVENT_MC,
	.vector = IST_VEC_MC,
	.ist_index = IST_INDEX_MC,
	.inject = inject_mc,
};
