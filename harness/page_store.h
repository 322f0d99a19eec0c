/* Guest pages held by snapshots, each content once: a snapshot is mostly
 * the pages of the one before it (a trace moves a few stack and log pages
 * per boundary), so snapshots share their pages, counted by reference.
 * Pointer equality is content equality: a restore knows a guest page
 * already holds a snapshot's page by comparing two pointers.
 */
#ifndef IST_PAGE_STORE_H
#define IST_PAGE_STORE_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_SIZE 4096

struct page {
	uint8_t data[PAGE_SIZE];
	uint64_t hash;
	uint32_t refs;
	struct page *next; /* in the store's hash chain */
};

/* The page holding len bytes of data (the rest zero), one more reference
 * to it. NULL when out of memory. */
struct page *page_intern(const uint8_t *data, size_t len);
void page_unref(struct page *p);
/* One more reference to a page held already. */
struct page *page_ref(struct page *p);

/* Pages held now and their bytes, for the benchmark's memory figure. */
size_t page_store_pages(void);

#endif
