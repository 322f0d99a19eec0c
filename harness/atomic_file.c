#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"

FILE *atomic_open(struct atomic_file *a, const char *path, char *err,
		  size_t errlen)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;

	snprintf(a->path, sizeof(a->path), "%s", path);
	snprintf(a->tmp, sizeof(a->tmp), "%.*s.%s.%ld.tmp",
		 slash ? (int)(base - path) : 0, path, base, (long)getpid());
	a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	a->f = a->fd >= 0 ? fdopen(a->fd, "w") : NULL;
	if (!a->f) {
		snprintf(err, errlen, "cannot write %s: %s", a->tmp,
			 strerror(errno));
		if (a->fd >= 0) {
			close(a->fd);
			unlink(a->tmp);
		}
	}
	return a->f;
}

void atomic_abort(struct atomic_file *a)
{
	if (a->f)
		fclose(a->f);
	a->f = NULL;
	unlink(a->tmp);
}

int atomic_commit(struct atomic_file *a, char *err, size_t errlen)
{
	const char *slash = strrchr(a->path, '/');
	char dir[4096];
	int dirfd;

	if (fflush(a->f) || fsync(a->fd) || ferror(a->f)) {
		snprintf(err, errlen, "cannot write %s: %s", a->tmp,
			 strerror(errno));
		atomic_abort(a);
		return -1;
	}
	fclose(a->f);
	a->f = NULL;
	if (rename(a->tmp, a->path)) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", a->tmp,
			 a->path, strerror(errno));
		unlink(a->tmp);
		return -1;
	}
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s",
			 slash == a->path ? 1 : (int)(slash - a->path),
			 a->path);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd >= 0) {
		fsync(dirfd);
		close(dirfd);
	}
	return 0;
}
