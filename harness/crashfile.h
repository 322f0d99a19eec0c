/* Crash files: one failing schedule, enough on its own to bring the race
 * back (`ist-torture replay`) and to show what went wrong. A versioned,
 * line-oriented text format, documented in docs/crash-format.md.
 *
 * A file names boundaries as symbol+offset, so it is read in two steps:
 * crash_parse() reads the text (no guest needed), crash_resolve() turns
 * the names into addresses with the stub's image.
 */
#ifndef IST_CRASHFILE_H
#define IST_CRASHFILE_H

#include <stdio.h>

#include "loader.h"
#include "oracle.h"
#include "schedule.h"

#define CRASH_VERSION 1

struct crash_step {
	char kind[8];	 /* "nmi", "db", "mc", "irq" */
	char at[160];	 /* the boundary where it is raised */
	unsigned exec;	 /* which execution of it */
	int data;	 /* db: a data breakpoint (else an instruction one) */
	char watch[160]; /* db data: the watched address */
	char from[160];	 /* db data: the MOV SS that reads it */
	uint64_t mc[4];	 /* mc: status, addr, misc, mcg_status */
	int line;	 /* in the file, for messages */
};

struct crash {
	char path[512];
	char stub[64];
	uint64_t image_hash;
	uint64_t seed;
	int db_by_guest_dr;
	int depth;
	struct crash_step step[SCHEDULE_MAX_DEPTH];
	enum verdict_kind verdict;
	char signature[17];
};

/* FNV-1a, 64 bits, over the image's loaded segments: the image hash a
 * crash file records. */
uint64_t crash_image_hash(const struct guest_image *img);

/* The signature of a failure: stub, verdict kind, the symbol of the
 * boundary where the decisive (last) event landed, and the diverging
 * fields' names. Two findings of one bug share it. 16 hex digits. */
void crash_signature(const char *stub, const struct guest_image *img,
		     const struct schedule *s, const struct verdict *v,
		     char out[17]);

/* Writes the crash file for a failing schedule into dir (made if
 * missing), named <stub>-<verdict>-<signature>.crash: atomically (a
 * temporary file, fsync, rename). Returns 0 when written, 1 when a file
 * of that signature is already there (left as it is), -1 with err. The
 * path goes into path. */
int crash_write(const char *dir, const char *stub,
		const struct guest_image *img, uint64_t seed,
		int db_by_guest_dr, const struct schedule *s,
		const struct verdict *v, char *path, size_t pathlen, char *err,
		size_t errlen);

/* The same at a path of the caller's choosing (its directory must exist),
 * replacing what is there. 0, or -1 with err. */
int crash_write_file(const char *path, const char *stub,
		     const struct guest_image *img, uint64_t seed,
		     int db_by_guest_dr, const struct schedule *s,
		     const struct verdict *v, char *err, size_t errlen);

/* Reads a crash file. -1 with err: "FILE:LINE: what is wrong". */
int crash_parse(const char *path, struct crash *c, char *err, size_t errlen);
/* The same from an open stream (closed on return), named path in
 * messages: what the parser's fuzz target feeds. */
int crash_parse_stream(const char *path, FILE *f, struct crash *c, char *err,
		       size_t errlen);

/* The schedule, with addresses, in the image of the file's stub. -1 with
 * err naming the line whose boundary the image does not have. */
int crash_resolve(const struct crash *c, const struct guest_image *img,
		  struct schedule *s, char *err, size_t errlen);

#endif
