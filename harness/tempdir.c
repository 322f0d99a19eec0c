#include "tempdir.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TRACKED 8

struct tracked {
	char dir[TEMPDIR_PATH_MAX];
	char (*files)[80]; /* allocated when tracked, only read after */
	int nfiles;
};
static struct tracked tracked[MAX_TRACKED];

/* Async-signal-safe: unlink and rmdir on fixed-size buffers only. */
static void remove_one(const char *dir, const char *file)
{
	char path[TEMPDIR_PATH_MAX + 64];
	size_t n = strlen(dir), m = strlen(file);

	if (n + m + 2 > sizeof(path))
		return;
	memcpy(path, dir, n);
	path[n] = '/';
	memcpy(path + n + 1, file, m + 1);
	unlink(path);
}

static void remove_tracked(struct tracked *t)
{
	for (int i = 0; i < t->nfiles; i++)
		remove_one(t->dir, t->files[i]);
	rmdir(t->dir);
	t->dir[0] = 0;
}

/* Outside signal handlers only: frees. */
static void forget(struct tracked *t)
{
	t->dir[0] = 0;
	free(t->files);
	t->files = NULL;
	t->nfiles = 0;
}

void tempdir_remove_all(void)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (tracked[i].dir[0])
			remove_tracked(&tracked[i]);
}

static void on_fatal_signal(int sig)
{
	tempdir_remove_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Once: at exit, and on the signals that stop a harness, unless someone
 * already handles them. */
static void hook(void)
{
	static int hooked;
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

	if (hooked)
		return;
	hooked = 1;
	atexit(tempdir_remove_all);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;

		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_DFL)
			signal(sigs[i], on_fatal_signal);
	}
}

int tempdir_track(const char *dir, const char *const *files, int nfiles)
{
	struct tracked *t = NULL;

	if (strlen(dir) >= TEMPDIR_PATH_MAX || nfiles < 0)
		return -1;
	for (int i = 0; i < nfiles; i++)
		if (strlen(files[i]) >= sizeof(t->files[0]))
			return -1;
	for (int i = 0; i < MAX_TRACKED && !t; i++)
		if (!tracked[i].dir[0])
			t = &tracked[i];
	if (!t)
		return -1;
	free(t->files);
	t->files = calloc(nfiles ? (size_t)nfiles : 1, sizeof(*t->files));
	if (!t->files)
		return -1;
	hook();
	for (int i = 0; i < nfiles; i++)
		strcpy(t->files[i], files[i]);
	t->nfiles = nfiles;
	strcpy(t->dir, dir); /* last: a signal now sees it whole */
	return 0;
}

void tempdir_release(const char *dir)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (tracked[i].dir[0] && !strcmp(tracked[i].dir, dir)) {
			remove_tracked(&tracked[i]);
			forget(&tracked[i]);
		}
}

void tempdir_forget_all(void)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		forget(&tracked[i]);
}

void tempdir_remove(const char *dir, const char *const *files, int nfiles)
{
	for (int i = 0; i < nfiles; i++)
		remove_one(dir, files[i]);
	rmdir(dir);
}
