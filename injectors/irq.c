/* The maskable interrupt IST_VEC_IRQ, as a device behind an interrupt
 * controller would raise it: vm_raise_irq on a vCPU standing where the
 * model says it is taken (IF=1, no shadow). It goes through an ordinary
 * interrupt gate, never IST: what it shows is where an entry path runs
 * with interrupts enabled on a stack or GS it must not (sti-padded). */
#include "../guest/ist_abi.h"
#include "injector.h"

static int inject_irq(struct vm *vm, const struct injection *inj,
		      const struct vcpu_state *at)
{
	(void)inj;
	(void)at;
	return vm_raise_irq(vm, IST_VEC_IRQ);
}

const struct injector irq_injector = {
	.name = "irq",
	.kind = EVENT_IRQ,
	.vector = IST_VEC_IRQ,
	.ist_index = 0,
	.inject = inject_irq,
};
