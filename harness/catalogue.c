#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int catalogue_read(const char *dir, struct catalogue *cat, char *err,
		   size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	memset(cat, 0, sizeof(*cat));
	if (!d) {
		snprintf(err, errlen,
			 "cannot read the stub directory %s: %s (build the "
			 "project first, or pass --guest-dir)",
			 dir, strerror(errno));
		return -1;
	}
	cat->dir = strdup(dir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len <= 4 || strcmp(de->d_name + len - 4, ".elf"))
			continue;
		if (cat->n == cap) {
			cap = cap ? cap * 2 : 16;
			cat->names = realloc(cat->names, cap * sizeof(char *));
		}
		cat->names[cat->n++] = strndup(de->d_name, len - 4);
	}
	closedir(d);
	if (cat->n == 0) {
		snprintf(err, errlen,
			 "no stubs (*.elf) in %s: build the project first, or "
			 "pass --guest-dir",
			 dir);
		catalogue_free(cat);
		return -1;
	}
	qsort(cat->names, cat->n, sizeof(char *), by_name);
	return 0;
}

void catalogue_free(struct catalogue *cat)
{
	for (size_t i = 0; i < cat->n; i++)
		free(cat->names[i]);
	free(cat->names);
	free(cat->dir);
	memset(cat, 0, sizeof(*cat));
}

int catalogue_find(const struct catalogue *cat, const char *name)
{
	for (size_t i = 0; i < cat->n; i++)
		if (strcmp(cat->names[i], name) == 0)
			return (int)i;
	return -1;
}

char *catalogue_path(const struct catalogue *cat, size_t i, char *buf,
		     size_t len)
{
	snprintf(buf, len, "%s/%s.elf", cat->dir, cat->names[i]);
	return buf;
}

char *catalogue_names(const struct catalogue *cat, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < cat->n && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 cat->names[i]);
	return buf;
}
