/* The human-readable sweep report. */
#ifndef IST_REPORT_H
#define IST_REPORT_H

#include <stdio.h>

#include "sweep.h"
#include "sweep_result.h"

void report_header(FILE *f, const char *backend,
		   const struct sweep_options *opt);
/* The header's options part: seed, depth, events per level, #DB method,
 * where injections go. */
void report_options(FILE *f, const struct sweep_options *opt);
void report_stub(FILE *f, const struct stub_sweep *s);
/* What report_stub says before the counts: the stub's name and
 * description, its golden trace, its fixup table's check. */
void report_stub_about(FILE *f, const struct stub_sweep *s);
/* One schedule's result, as everywhere a user sees one: each injection's
 * boundary as symbol+offset with its disassembly, the verdict, and
 * expected against observed field by field (full), or one line. */
void report_record(FILE *f, const struct stub_sweep *s,
		   const struct sweep_record *r, int full);

/* A stub's report from its result alone (counts and failures as text), for
 * results put together from several processes (sweep --jobs). */
void report_result(FILE *f, const struct stub_result *r);

#endif
