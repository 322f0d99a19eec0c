/* Private temporary directories that never outlive the harness: each is
 * removed when released, at exit, and when a signal (SIGINT, SIGTERM,
 * SIGHUP, SIGPIPE) stops the harness. Removal is async-signal-safe, so a
 * directory may hold only the files named when it is tracked.
 */
#ifndef IST_TEMPDIR_H
#define IST_TEMPDIR_H

#define TEMPDIR_PATH_MAX 256

/* Starts tracking dir (already made) and the files it will hold, by name.
 * Returns -1 when too many directories are tracked, a name is too long, or
 * memory runs out (then nothing is tracked). */
int tempdir_track(const char *dir, const char *const *files, int nfiles);

/* Removes a tracked directory's files and the directory, and forgets it. */
void tempdir_release(const char *dir);

/* Removes every tracked directory now (async-signal-safe): for a process
 * about to end in a way no handler sees, such as abort(). */
void tempdir_remove_all(void);

/* Forgets every tracked directory without removing it: in a forked child,
 * whose parent owns them. */
void tempdir_forget_all(void);

/* Removes the named files and dir, tracked or not: for directories a
 * harness that was killed outright left behind. */
void tempdir_remove(const char *dir, const char *const *files, int nfiles);

#endif
