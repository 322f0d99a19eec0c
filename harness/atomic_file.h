/* Files that are either whole or absent: written to a temporary file in
 * the same directory, flushed to disk, then renamed over the target (and
 * the directory flushed, so the rename survives a crash too). Crash files,
 * coverage maps, sweep states and CI reports are all written this way.
 */
#ifndef IST_ATOMIC_FILE_H
#define IST_ATOMIC_FILE_H

#include <stdio.h>

struct atomic_file {
	FILE *f;
	int fd;
	char path[4096], tmp[4200];
};

/* Opens the temporary file for path. NULL with err. */
FILE *atomic_open(struct atomic_file *a, const char *path, char *err,
		  size_t errlen);
/* Flushes, fsyncs and renames it into place. -1 with err (and the
 * temporary file removed). */
int atomic_commit(struct atomic_file *a, char *err, size_t errlen);
/* Drops the temporary file. */
void atomic_abort(struct atomic_file *a);

#endif
