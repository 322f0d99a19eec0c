/* fixup-table-drifted: Xen mini-os's event-merge entry after one
 * instruction of its critical region changed length and its fixup table
 * was not redone.
 *
 * The same code as fixup-table but POP RCX in its two-byte form (8F /0):
 * every instruction after it starts one byte later, and reads the table
 * entry of the byte before. At POP RDX, POP RSI and POP RDI that entry
 * counts one register more than the code has popped, so a second NMI
 * there stores back one register too many, one slot low, and the first
 * NMI's context is lost. At ADD RSP and IRETQ the shifted entry happens to
 * be right. The derived table disagrees at exactly those three (the
 * report's fixup table section).
 *
 * Verdicts it must get: pass at depth 1; at depth 2, NMI > NMI fails where
 * the second NMI lands on POP RDX, POP RSI or POP RDI, and passes
 * everywhere else.
 */
#define FIXUP_DRIFTED 1
#include "fixup_table.inc"

	STUB_INFO "Xen mini-os event merge on an NMI, its fixup table drifted by one byte after an instruction changed: fails at the drifted offsets"

	/* scrit + 0x15: POP RDX, + 0x16: POP RSI, + 0x17: POP RDI */
	EXPECT scrit + 0x15, scrit + 0x18, IST_EXPECT_FAIL
