/* Worker processes: one part of a job each, in a process of its own (so
 * each has its own VM), for sweep --jobs.
 *
 * Workers leave the terminal's process group: a Ctrl-C reaches only the
 * parent, which passes one SIGTERM on to each, so every worker stops after
 * the schedule it is running and writes what it has (a second signal would
 * kill it outright). They die with the parent (PR_SET_PDEATHSIG, SIGTERM:
 * the same clean stop).
 */
#ifndef IST_WORKERS_H
#define IST_WORKERS_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#define WORKERS_MAX 256

struct workers {
	int n;
	pid_t pid[WORKERS_MAX];
	/* Exit status once waited for; 128 + the signal that killed it. */
	int status[WORKERS_MAX];
};

/* Starts n workers, worker i running body(ctx, i) and exiting with what
 * it returns. Returns -1 with a reason when one cannot be started (those
 * started are stopped and waited for). */
int workers_start(struct workers *w, int n, int (*body)(void *ctx, int i),
		  void *ctx, char *err, size_t errlen);

/* Waits for every worker. While they run, a nonzero *stop (set by the
 * parent's signal handler, which must not restart system calls) is passed
 * on once as SIGTERM. */
void workers_wait(struct workers *w, volatile sig_atomic_t *stop);

#endif
