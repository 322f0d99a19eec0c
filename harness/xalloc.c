#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static void out_of_memory(void)
{
	fprintf(stderr, "ist-torture: out of memory: free some, or sweep "
			"fewer stubs or a smaller depth at a time\n");
	exit(3);
}

void *xrealloc(void *p, size_t n, size_t size)
{
	void *np;

	if (size && n > (size_t)-1 / size)
		out_of_memory();
	np = realloc(p, (n ? n : 1) * size);
	if (!np)
		out_of_memory();
	return np;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		out_of_memory();
	return p;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		out_of_memory();
	return d;
}

void *xgrow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 64;
	return xrealloc(p, *cap, size);
}
