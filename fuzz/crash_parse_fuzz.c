/* libFuzzer target: the crash-file parser (harness/crashfile.c) on any
 * bytes. Every input must end in a parse or a one-line error, never a
 * crash, a leak or undefined behaviour (built with ASan and UBSan). The
 * kept crash files (crashes/) are its seeds. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crashfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[700];
	struct crash c;
	FILE *f;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	if (crash_parse_stream("input", f, &c, err, sizeof(err)) == 0) {
		/* A parse is whole: every step names its event and place. */
		if (c.depth < 1 || c.depth > SCHEDULE_MAX_DEPTH)
			__builtin_trap();
		for (int k = 0; k < c.depth; k++)
			if (!c.step[k].kind[0] || !c.step[k].at[0] ||
			    !c.step[k].exec)
				__builtin_trap();
	} else if (!memchr(err, 0, sizeof(err)) || strchr(err, '\n')) {
		__builtin_trap(); /* one line, terminated */
	}
	return 0;
}
