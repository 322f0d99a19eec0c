/* The human-readable sweep report. */
#ifndef IST_REPORT_H
#define IST_REPORT_H

#include <stdio.h>

#include "sweep.h"

void report_header(FILE *f, const char *backend,
		   const struct sweep_options *opt);
void report_stub(FILE *f, const struct stub_sweep *s);
/* One failure, as everywhere a user sees one: the boundary as symbol+offset
 * with its disassembly, the verdict, and expected against observed. */
void report_failure(FILE *f, const struct stub_sweep *s,
		    const struct trial_record *r);

#endif
