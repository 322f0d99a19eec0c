/* FIXUP_TABLE: a stub's hand-kept table, one byte per byte of a code
 * range, of how many stack bytes that code has popped before the
 * instruction holding the byte (Xen mini-os's critical_fixup_table), set
 * against the same derived from Capstone's decode. A table that drifted
 * from its code (an instruction changed length, the table not redone) shows
 * as the instructions where the two disagree: exactly the boundaries where
 * a nested event merges its frame wrongly.
 */
#ifndef IST_FIXUP_H
#define IST_FIXUP_H

#include "guest.h"

#define FIXUP_MAX_INSNS 64

struct fixup_entry {
	uint64_t addr;	  /* an instruction of the range */
	unsigned table;	  /* what the table says at its first byte */
	unsigned derived; /* what the code has popped there */
	char insn[112];
};

struct fixup_check {
	int declared; /* the stub has a FIXUP_TABLE */
	int ninsns;
	struct fixup_entry insns[FIXUP_MAX_INSNS];
	int nmismatches;
	char error[240]; /* the decode could not follow the range: why */
};

/* Derives the table for lay->fixup's range and compares it with the
 * stub's. Returns 0 (check->nmismatches says how it went; no declaration
 * is 0 too), or -1 with check->error set when the range cannot be followed
 * (an instruction that moves RSP some other way, or the range's bytes are
 * not in the image). */
int fixup_check(const struct guest_image *img, const struct guest_layout *lay,
		struct fixup_check *check);

#endif
