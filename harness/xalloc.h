/* Allocation that cannot fail: for the harness's own bookkeeping (maps,
 * reports, window labels), which has no sensible way on without memory.
 * Out of memory is a harness error: one line, exit 3.
 */
#ifndef IST_XALLOC_H
#define IST_XALLOC_H

#include <stddef.h>

void *xrealloc(void *p, size_t n, size_t size); /* n elements of size */
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
/* Room for one more element: *cap doubles (from 64) when n reaches it. */
void *xgrow(void *p, size_t *cap, size_t n, size_t size);

#endif
