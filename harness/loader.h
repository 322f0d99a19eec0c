/* Guest ELF loader: segments to place in guest memory, the symbol table that
 * names every boundary as symbol+offset, and the sections the harness reads
 * (entry text, the stub's declared expectations).
 *
 * A leaf module: it knows ELF, nothing about KVM.
 */
#ifndef IST_LOADER_H
#define IST_LOADER_H

#include <stddef.h>
#include <stdint.h>

struct guest_segment {
	uint64_t vaddr;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;	     /* >= filesz; the rest is zero (.bss) */
	uint32_t flags;	     /* PF_R | PF_W | PF_X */
	const uint8_t *data; /* filesz bytes inside guest_image.file */
};

struct guest_symbol {
	const char *name; /* points into guest_image.file's string table */
	uint64_t addr;
	uint64_t size;
	int is_func;   /* STT_FUNC */
	int is_global; /* STB_GLOBAL or STB_WEAK */
};

struct guest_section {
	const char *name;
	uint64_t addr;
	uint64_t size;
	const uint8_t *data; /* NULL for SHT_NOBITS */
};

struct guest_image {
	char *path;
	uint8_t *file; /* the whole file, owned */
	size_t file_size;
	uint64_t entry;
	struct guest_segment *segs;
	size_t nsegs;
	/* Naming symbols only (FUNC, OBJECT and NOTYPE; no section/file
	 * symbols, no empty names), sorted by address. */
	struct guest_symbol *syms;
	size_t nsyms;
	struct guest_section *sects;
	size_t nsects;
};

/* Reads and validates an ELF64 x86-64 executable. On failure returns -1 and
 * writes a one-line reason (naming the file and what is wrong) into err. */
int image_load(const char *path, struct guest_image *img, char *err,
	       size_t errlen);
void image_free(struct guest_image *img);

/* The symbol a boundary is named after: the nearest symbol at or below addr.
 * Among several at the same address a global function wins, then any
 * function, then a global, then the first by name; a name starting "__" (a
 * linker's section marker) comes last among globals and among locals. A
 * symbol with a size
 * only covers [addr, addr+size); past its end the next lower symbol that
 * still covers addr is used, and NULL if none does. */
const struct guest_symbol *image_symbol_at(const struct guest_image *img,
					   uint64_t addr);

/* Address of the named symbol; -1 when there is none. */
int image_symbol_addr(const struct guest_image *img, const char *name,
		      uint64_t *addr);

/* Formats addr as "symbol+0xoff", always with the offset ("symbol+0x0") so
 * names sort and grep alike, or "0x<addr>" when no symbol covers it.
 * Returns buf. */
char *image_format_addr(const struct guest_image *img, uint64_t addr, char *buf,
			size_t len);

/* Parses "symbol+0xoff", "symbol+off" (decimal), "symbol" or "0xaddr" back to
 * an address. Returns -1 for an unknown symbol or a malformed string. */
int image_parse_addr(const struct guest_image *img, const char *text,
		     uint64_t *addr);

/* The section named name, or NULL. */
const struct guest_section *image_section(const struct guest_image *img,
					  const char *name);

/* Copies len bytes at guest virtual address vaddr out of the file's loadable
 * segments (zeros for .bss). Returns -1 if any byte is outside every
 * segment. */
int image_read(const struct guest_image *img, uint64_t vaddr, void *buf,
	       size_t len);

#endif
