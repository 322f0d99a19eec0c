/* Bring your own stub: a user's entry-code source, built against the guest
 * runtime exactly as the build builds a bundled stub (the guest's compiler
 * flags, its include directories, the runtime's objects and its linker
 * script), into a private temporary directory the sweep reads like the
 * catalogue's.
 */
#ifndef IST_STUB_BUILD_H
#define IST_STUB_BUILD_H

#include <stddef.h>

struct stub_build {
	char dir[256]; /* private temporary directory, "" once removed */
	char name[64]; /* the stub's name: the file's, without .S */
	char elf[384]; /* dir/name.elf */
};

/* Builds source into a new temporary directory. The compiler's own
 * messages (file:line: Error: ...) go to stderr as it prints them. Returns
 * 0, or -1 with a one-line reason that says what to do in err. */
int stub_build(const char *source, struct stub_build *b, char *err,
	       size_t errlen);

/* Removes the temporary directory and what is in it. */
void stub_build_remove(struct stub_build *b);

#endif
