#include "page_store.h"

#include <stdlib.h>
#include <string.h>

static struct page **table;
static size_t table_size, held;

static uint64_t page_hash(const uint8_t *data)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < PAGE_SIZE; i += 8) {
		uint64_t w;

		memcpy(&w, data + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h;
}

static int grow(void)
{
	size_t size = table_size ? table_size * 2 : 1024;
	struct page **t = calloc(size, sizeof(*t));

	if (!t)
		return -1;
	for (size_t i = 0; i < table_size; i++)
		while (table[i]) {
			struct page *p = table[i];

			table[i] = p->next;
			p->next = t[p->hash & (size - 1)];
			t[p->hash & (size - 1)] = p;
		}
	free(table);
	table = t;
	table_size = size;
	return 0;
}

struct page *page_intern(const uint8_t *data, size_t len)
{
	uint8_t buf[PAGE_SIZE];
	struct page *p;
	uint64_t h;

	if (len < PAGE_SIZE) {
		memcpy(buf, data, len);
		memset(buf + len, 0, PAGE_SIZE - len);
		data = buf;
	}
	if (held >= table_size && grow())
		return NULL;
	h = page_hash(data);
	for (p = table[h & (table_size - 1)]; p; p = p->next)
		if (p->hash == h && !memcmp(p->data, data, PAGE_SIZE)) {
			p->refs++;
			return p;
		}
	p = malloc(sizeof(*p));
	if (!p)
		return NULL;
	memcpy(p->data, data, PAGE_SIZE);
	p->hash = h;
	p->refs = 1;
	p->next = table[h & (table_size - 1)];
	table[h & (table_size - 1)] = p;
	held++;
	return p;
}

struct page *page_ref(struct page *p)
{
	if (p)
		p->refs++;
	return p;
}

void page_unref(struct page *p)
{
	struct page **link;

	if (!p || --p->refs)
		return;
	for (link = &table[p->hash & (table_size - 1)]; *link != p;
	     link = &(*link)->next)
		;
	*link = p->next;
	held--;
	free(p);
}

size_t page_store_pages(void)
{
	return held;
}
