/* What `ist-torture coverage` shows of a coverage map: per stub, an
 * annotated listing of its entry text (each instruction as symbol+offset
 * with its disassembly and its window, marked per event kind and depth:
 * tried and passed, tried and failed, untried), then a summary of
 * boundaries covered per event and depth and per window; and the same as
 * an lcov tracefile over the stub's sources, as HTML through genhtml, and
 * as JSON.
 */
#ifndef IST_COVERAGE_REPORT_H
#define IST_COVERAGE_REPORT_H

#include <stdio.h>

#include "coverage.h"
#include "guest.h"
#include "loader.h"

/* A stub of the map with its image (loaded from elf_path, whose hash
 * matches the map's). */
struct cov_image {
	const struct cov_stub *stub;
	const struct guest_image *img;
	const struct guest_layout *lay;
	const char *elf_path;
};

void coverage_listing(FILE *f, const struct cov_image *ci);
void coverage_summary(FILE *f, const struct cov_image *ci);

/* lcov tracefile over the stubs' source files (from the ELF's line
 * info): a line record per source line with boundaries, and one branch
 * record per boundary x event kind ("-" where never tried, so genhtml
 * shows untried combinations). Atomic write. */
int coverage_write_lcov(const char *path, const struct cov_image *ci, size_t n,
			char *err, size_t errlen);
/* Runs genhtml (lcov's) on an lcov file into dir. */
int coverage_render_html(const char *lcov_path, const char *dir, char *err,
			 size_t errlen);
/* The raw map as JSON, boundaries also as symbol+offset. Atomic write. */
int coverage_write_json(const char *path, const struct cov_image *ci, size_t n,
			char *err, size_t errlen);

#endif
