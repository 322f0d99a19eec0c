/* The stubs on offer: one guest ELF per stub, <dir>/<name>.elf. */
#ifndef IST_CATALOGUE_H
#define IST_CATALOGUE_H

#include <stddef.h>

struct catalogue {
	char *dir;
	char **names; /* sorted */
	size_t n;
};

/* Lists dir. Returns -1 with a one-line reason when it cannot be read or
 * holds no stub. */
int catalogue_read(const char *dir, struct catalogue *cat, char *err,
		   size_t errlen);
void catalogue_free(struct catalogue *cat);
/* Index of name, or -1. */
int catalogue_find(const struct catalogue *cat, const char *name);
/* "<dir>/<name>.elf" into buf. */
char *catalogue_path(const struct catalogue *cat, size_t i, char *buf,
		     size_t len);
/* "a, b, c" into buf, for error messages. */
char *catalogue_names(const struct catalogue *cat, char *buf, size_t len);

#endif
