#include "workers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int workers_start(struct workers *w, int n, int (*body)(void *ctx, int i),
		  void *ctx, char *err, size_t errlen)
{
	pid_t parent = getpid();

	w->n = 0;
	if (n < 1 || n > WORKERS_MAX) {
		snprintf(err, errlen, "%d workers: 1 to %d can run", n,
			 WORKERS_MAX);
		return -1;
	}
	fflush(NULL); /* or the children print the parent's buffers too */
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			snprintf(err, errlen, "cannot start worker %d: %s",
				 i + 1, strerror(errno));
			for (int k = 0; k < w->n; k++)
				kill(w->pid[k], SIGTERM);
			workers_wait(w, NULL);
			return -1;
		}
		if (pid == 0) {
			setpgid(0, 0);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent) /* it died already */
				_exit(128 + SIGTERM);
			int rc = body(ctx, i);
			fflush(NULL);
			_exit(rc);
		}
		w->pid[w->n] = pid;
		w->status[w->n++] = -1;
	}
	return 0;
}

void workers_wait(struct workers *w, volatile sig_atomic_t *stop)
{
	int running = 0, passed_on = 0;

	for (int i = 0; i < w->n; i++)
		running += w->status[i] < 0;
	while (running > 0) {
		int status;
		pid_t pid;

		if (stop && *stop && !passed_on) {
			for (int i = 0; i < w->n; i++)
				if (w->status[i] < 0)
					kill(w->pid[i], SIGTERM);
			passed_on = 1;
		}
		/* Polled: a signal landing just before a blocking wait would
		 * not be passed on until a worker ended by itself. */
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == 0 || (pid < 0 && errno == EINTR)) {
			struct timespec tick = {0, 20 * 1000 * 1000};
			nanosleep(&tick, NULL);
			continue;
		}
		if (pid < 0)
			break; /* ECHILD: none left that are ours */
		for (int i = 0; i < w->n; i++) {
			if (w->pid[i] != pid || w->status[i] >= 0)
				continue;
			w->status[i] = WIFEXITED(status)
					       ? WEXITSTATUS(status)
					       : 128 + WTERMSIG(status);
			running--;
		}
	}
}
