/* sti-shadow: an exit path that enables interrupts with STI right before
 * its return instruction, at CPL0 on the user's RSP and GS. Correct.
 *
 * STI delays interrupts until after the next instruction, so the only
 * boundary with IF=1 inside the kernel, the return itself, is in the STI
 * shadow: an interrupt raised there is held past SYSRETQ and taken in user
 * mode, where its gate switches to the kernel stack and its entry (SWAPGS
 * by the user CS) is right. 32-bit Linux's `sti; sysexit` relied on
 * exactly this (sti_exit.inc). sti-padded breaks it.
 *
 * Verdict it must get: no failure. Every interrupt the sweep raises inside
 * entry text is held past the end of the trace ("not run: held past the
 * trace's end"), none is taken at CPL0.
 */
#define STI_PAD
#include "sti_exit.inc"

	STUB_INFO "exit with sti right before SYSRETQ, on the user's RSP and GS: the STI shadow keeps interrupts out: passes"
	HANDLES IST_EVENT_IRQ
