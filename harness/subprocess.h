/* Running the tools the harness leaves work to (the guest's compiler,
 * addr2line, genhtml) and saying how they ended.
 */
#ifndef IST_SUBPROCESS_H
#define IST_SUBPROCESS_H

#include <stddef.h>

/* Runs argv (found on PATH) to its end, its stdin and stdout on the given
 * descriptors (-1: ours), its stderr ours. Our buffered output is flushed
 * first, so that it comes before the program's. Returns its wait status,
 * or -1 when it could not be started (errno set; ENOENT when the program
 * is not installed). */
int subprocess_run(char *const argv[], int in_fd, int out_fd);

/* A wait status in words: "exit status 2", "killed by signal 9". */
void subprocess_describe(char *buf, size_t len, int status);

#endif
