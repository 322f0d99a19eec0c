/* sti-padded: sti-shadow with one instruction between STI and the return,
 * as a hook patched in there leaves it. Buggy.
 *
 * The shadow now covers the padding, not the return: at SYSRETQ the CPU is
 * at CPL0 with IF=1, the user's RSP and the user's GS, and a maskable
 * interrupt is taken there. Its gate has no IST, so the CPU pushes the
 * frame onto the user's stack; the entry sees kernel CS and skips SWAPGS,
 * so the body runs on the user's GS too. The paravirt interface kept STI
 * and SYSEXIT as one operation (irq_enable_sysexit) for this reason: a
 * hypervisor that splits them opens this window.
 *
 * Verdict it must get: invariant (the body on the user's stack and GS) for
 * the interrupt raised at the padding (held one instruction by the shadow)
 * and at SYSRETQ, both taken at SYSRETQ, once per system call.
 */
#define STI_PAD nopl 0x0(%rax,%rax,1)
#include "sti_exit.inc"

	STUB_INFO "exit with sti, a patched-in instruction, then SYSRETQ: an interrupt lands at CPL0 on the user's RSP and GS"
	HANDLES IST_EVENT_IRQ
	EXPECT syscall_sti_done, syscall_exit_end, IST_EXPECT_INVARIANT
