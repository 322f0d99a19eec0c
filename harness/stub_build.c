#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest_build.h" /* generated: how the bundled stubs are built */
#include "stub_build.h"
#include "subprocess.h"
#include "tempdir.h"

#define MAX_ARGS 64

/* The stub's name: the file's base name without its extension, in the
 * characters a stub name may have. */
static int stub_name(const char *source, char *name, size_t len)
{
	const char *base = strrchr(source, '/');
	size_t n = 0;

	base = base ? base + 1 : source;
	for (; base[n] && base[n] != '.' && n + 1 < len; n++) {
		unsigned char c = (unsigned char)base[n];
		name[n] = isalnum(c) || c == '-' || c == '_' ? (char)c : '_';
	}
	name[n] = 0;
	return n ? 0 : -1;
}

int stub_build(const char *source, struct stub_build *b, char *err,
	       size_t errlen)
{
	char *argv[MAX_ARGS], *save = NULL, *flags;
	const char *tmp = getenv("TMPDIR");
	int n = 0, rc;

	memset(b, 0, sizeof(*b));
	if (access(source, R_OK)) {
		snprintf(err, errlen, "cannot read the stub file %s: %s",
			 source, strerror(errno));
		return -1;
	}
	if (stub_name(source, b->name, sizeof(b->name))) {
		snprintf(err, errlen,
			 "%s: a stub file's name gives the stub's name; "
			 "rename it (e.g. my-entry.S)",
			 source);
		return -1;
	}
	snprintf(b->dir, sizeof(b->dir), "%s/ist-torture-stub-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(b->dir)) {
		snprintf(err, errlen,
			 "cannot make a temporary directory in %s: %s",
			 tmp && *tmp ? tmp : "/tmp", strerror(errno));
		b->dir[0] = 0;
		return -1;
	}
	snprintf(b->elf, sizeof(b->elf), "%s/%s.elf", b->dir, b->name);
	{
		char file[80];
		const char *files[] = {file};

		snprintf(file, sizeof(file), "%s.elf", b->name);
		if (tempdir_track(b->dir, files, 1)) {
			snprintf(err, errlen,
				 "cannot keep track of %s to remove it later",
				 b->dir);
			rmdir(b->dir);
			b->dir[0] = 0;
			return -1;
		}
	}

	flags = strdup(IST_GUEST_BUILD_FLAGS);
	if (!flags) {
		snprintf(err, errlen, "out of memory");
		stub_build_remove(b);
		return -1;
	}
	argv[n++] = IST_GUEST_CC;
	for (char *t = strtok_r(flags, " ", &save); t && n < MAX_ARGS - 8;
	     t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n++] = (char *)source;
	argv[n++] = "-Wl,--whole-archive";
	argv[n++] = IST_GUEST_RUNTIME_ARCHIVE;
	argv[n++] = "-Wl,--no-whole-archive";
	argv[n++] = "-o";
	argv[n++] = b->elf;
	argv[n] = NULL;

	rc = subprocess_run(argv, -1, -1);
	{
		int e = errno;
		free(flags);
		errno = e;
	}
	if (rc < 0) {
		snprintf(err, errlen,
			 errno == ENOENT
				 ? "%s not found: install it (apt-get install "
				   "gcc) to build a --stub-file"
				 : "cannot run %s: %s",
			 IST_GUEST_CC, strerror(errno));
		stub_build_remove(b);
		return -1;
	}
	if (rc) {
		snprintf(err, errlen,
			 "cannot build %s against the guest runtime: %s "
			 "reported the errors above",
			 source, IST_GUEST_CC);
		stub_build_remove(b);
		return -1;
	}
	return 0;
}

void stub_build_remove(struct stub_build *b)
{
	if (!b->dir[0])
		return;
	tempdir_release(b->dir);
	b->dir[0] = 0;
}
