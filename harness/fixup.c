#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disasm.h"
#include "fixup.h"

/* How many bytes insn pops off the stack: POP r64 8, ADD RSP, imm and
 * LEA RSP, [RSP + imm] the immediate, anything else that names RSP cannot
 * be followed (-1), the rest 0. */
static long popped_by(const struct insn *insn)
{
	const char *t = insn->text;
	char *end;
	long imm;

	if (!strncmp(t, "pop ", 4))
		return strstr(t, "rsp") ? -1 : 8;
	if (!strncmp(t, "add rsp, ", 9)) {
		imm = strtol(t + 9, &end, 0);
		return *end ? -1 : imm;
	}
	if (!strncmp(t, "lea rsp, [rsp + ", 16)) {
		imm = strtol(t + 16, &end, 0);
		return strcmp(end, "]") ? -1 : imm;
	}
	if (!strncmp(t, "iretq", 5) || !strncmp(t, "sysretq", 7))
		return 0; /* the last: what it pops is the frame itself */
	return strstr(t, "rsp") || !strncmp(t, "push", 4) ? -1 : 0;
}

int fixup_check(const struct guest_image *img, const struct guest_layout *lay,
		struct fixup_check *check)
{
	const struct ist_fixup *f = &lay->fixup;
	uint64_t len = f->to - f->from;
	uint8_t *code, *table;
	long popped = 0;
	int rc = 0;

	memset(check, 0, sizeof(*check));
	if (!f->from && !f->to)
		return 0;
	check->declared = 1;
	if (f->to <= f->from || len > 4096) {
		snprintf(check->error, sizeof(check->error),
			 "FIXUP_TABLE's range 0x%llx..0x%llx is empty or too "
			 "large",
			 (unsigned long long)f->from,
			 (unsigned long long)f->to);
		return -1;
	}
	code = malloc(len);
	table = malloc(len);
	if (!code || !table || image_read(img, f->from, code, len) ||
	    image_read(img, f->table, table, len)) {
		snprintf(check->error, sizeof(check->error),
			 "FIXUP_TABLE: the code or its table is not in the "
			 "image");
		free(code);
		free(table);
		return -1;
	}
	for (uint64_t off = 0; off < len;) {
		struct fixup_entry *e = &check->insns[check->ninsns];
		struct insn insn;
		long n;

		if (check->ninsns == FIXUP_MAX_INSNS ||
		    insn_decode(code + off, len - off, f->from + off, &insn) ||
		    !insn.len) {
			snprintf(check->error, sizeof(check->error),
				 "FIXUP_TABLE: cannot decode the range at "
				 "0x%llx",
				 (unsigned long long)(f->from + off));
			rc = -1;
			break;
		}
		e->addr = insn.addr;
		e->table = table[off];
		e->derived = (unsigned)popped;
		snprintf(e->insn, sizeof(e->insn), "%s", insn.text);
		check->nmismatches += e->table != e->derived;
		check->ninsns++;
		n = popped_by(&insn);
		if (n < 0) {
			snprintf(check->error, sizeof(check->error),
				 "FIXUP_TABLE: cannot follow RSP through "
				 "'%s' at 0x%llx",
				 insn.text, (unsigned long long)insn.addr);
			rc = -1;
			break;
		}
		popped += n;
		off += insn.len;
	}
	free(code);
	free(table);
	return rc;
}
