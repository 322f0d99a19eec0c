/* fixup-table: Xen mini-os's event-merge entry, its fixup table right.
 *
 * Models the x86-64 hypervisor callback of Xen mini-os (before 2016):
 * events unmasked before the registers are popped, and a per-byte table of
 * bytes popped that lets a nested event take the half-popped frame over
 * (fixup_table.inc says how, on an NMI).
 *
 * Verdicts it must get: pass at every boundary at depth 1 and for every
 * NMI > NMI schedule at depth 2: a second NMI in the critical region
 * merges with the first's frame and its body runs with the first's
 * context (the NMI_REPEAT frame rule); anywhere else in the handler it is
 * held until the return path unblocks NMIs, and lands at scrit. The
 * harness's derived table agrees with this one at every instruction.
 */
#include "fixup_table.inc"

	STUB_INFO "Xen mini-os event merge on an NMI: critical region with a per-byte fixup table, kept right: passes"
