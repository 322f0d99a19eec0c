#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "subprocess.h"

int subprocess_run(char *const argv[], int in_fd, int out_fd)
{
	int status, fds[2], e = 0;
	ssize_t got;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	/* A close-on-exec pipe tells an exec that failed (the child writes
	 * errno) from a program that ran and failed (nothing to read). */
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		if ((in_fd >= 0 && dup2(in_fd, 0) < 0) ||
		    (out_fd >= 0 && dup2(out_fd, 1) < 0))
			e = errno;
		else {
			execvp(argv[0], argv);
			e = errno;
		}
		if (write(fds[1], &e, sizeof(e)) < 0)
			_exit(126);
		_exit(127);
	}
	close(fds[1]);
	do
		got = read(fds[0], &e, sizeof(e));
	while (got < 0 && errno == EINTR);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (got == (ssize_t)sizeof(e)) {
		errno = e;
		return -1;
	}
	return status;
}

void subprocess_describe(char *buf, size_t len, int status)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "wait status 0x%x", status);
}
