/* ELF64 x86-64 guest loader.
 *
 * The file is untrusted input: fuzzers feed it mutated guests and it runs
 * under ASan/UBSan. So headers are copied out with memcpy (an Elf64_Phdr at
 * an odd offset must not become a misaligned pointer), and every offset and
 * size is checked against the file before use, in a form that cannot
 * overflow (off <= size && len <= size - off, never off + len <= size).
 *
 * The host is x86-64, so the little-endian fields are read in place.
 */
#include "loader.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Far larger than any guest; only there so a runaway input (a device,
 * a huge sparse file) fails with a message instead of exhausting memory. */
#define MAX_IMAGE_SIZE ((size_t)1 << 30)

struct load_ctx {
	const char *path;
	char *err;
	size_t errlen;
	struct guest_image *img;
	Elf64_Ehdr eh;
};

struct strtab {
	const char *data;
	uint64_t size;
};

/* The caller prints err as one log line, and a path or strerror() text is
 * not ours to trust, so any control character is flattened. */
static void flatten_to_one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

__attribute__((format(printf, 2, 3))) static int fail(struct load_ctx *lc,
						      const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!lc->err || !lc->errlen)
		return -1;
	n = snprintf(lc->err, lc->errlen, "%s: ", lc->path);
	if (n >= 0 && (size_t)n < lc->errlen) {
		va_start(ap, fmt);
		vsnprintf(lc->err + n, lc->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	flatten_to_one_line(lc->err);
	return -1;
}

static int range_in_file(const struct load_ctx *lc, uint64_t off, uint64_t len)
{
	uint64_t size = lc->img->file_size;

	return off <= size && len <= size - off;
}

static int table_in_file(const struct load_ctx *lc, uint64_t off,
			 uint64_t count, uint64_t entsize)
{
	if (entsize && count > UINT64_MAX / entsize)
		return 0;
	return range_in_file(lc, off, count * entsize);
}

/* [start, start + len) must not run past the top of the address space. */
static int range_wraps(uint64_t start, uint64_t len)
{
	return len && len - 1 > UINT64_MAX - start;
}

static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	if (a <= b)
		return b - a < alen && blen;
	return a - b < blen && alen;
}

static char *copy_string(const char *s)
{
	size_t len = strlen(s) + 1;
	char *copy = malloc(len);

	if (copy)
		memcpy(copy, s, len);
	return copy;
}

/* Reads until EOF rather than trusting a size from stat(), so pipes and
 * files that change underneath still give a consistent buffer. */
static int read_whole_file(struct load_ctx *lc)
{
	struct guest_image *img = lc->img;
	size_t cap = 0, got;
	uint8_t *grown;
	FILE *f;
	int saved;

	f = fopen(lc->path, "rb");
	if (!f)
		return fail(lc, "cannot open: %s", strerror(errno));
	for (;;) {
		if (img->file_size == cap) {
			if (cap >= MAX_IMAGE_SIZE) {
				fclose(f);
				return fail(lc, "larger than %zu MiB",
					    MAX_IMAGE_SIZE >> 20);
			}
			cap = cap ? cap * 2 : 64 * 1024;
			grown = realloc(img->file, cap);
			if (!grown) {
				fclose(f);
				return fail(lc, "out of memory reading file");
			}
			img->file = grown;
		}
		got = fread(img->file + img->file_size, 1, cap - img->file_size,
			    f);
		img->file_size += got;
		if (!got)
			break;
	}
	if (ferror(f)) {
		saved = errno;
		fclose(f);
		return fail(lc, "read error: %s", strerror(saved));
	}
	fclose(f);
	return 0;
}

static int check_ident(struct load_ctx *lc)
{
	const uint8_t *id = lc->img->file;
	size_t size = lc->img->file_size;

	if (!size)
		return fail(lc, "not an ELF file (empty)");
	if (memcmp(id, ELFMAG, size < SELFMAG ? size : SELFMAG))
		return fail(lc, "not an ELF file (bad magic)");
	if (size < EI_NIDENT)
		return fail(lc,
			    "truncated ELF identification (%zu of %d bytes)",
			    size, EI_NIDENT);
	if (id[EI_CLASS] != ELFCLASS64)
		return fail(lc, "not a 64-bit ELF (EI_CLASS %u%s)",
			    id[EI_CLASS],
			    id[EI_CLASS] == ELFCLASS32 ? ", ELFCLASS32" : "");
	if (id[EI_DATA] != ELFDATA2LSB)
		return fail(lc, "not a little-endian ELF (EI_DATA %u)",
			    id[EI_DATA]);
	if (id[EI_VERSION] != EV_CURRENT)
		return fail(lc, "unsupported ELF version %u", id[EI_VERSION]);
	return 0;
}

static int check_header(struct load_ctx *lc)
{
	const Elf64_Ehdr *eh = &lc->eh;

	if (check_ident(lc))
		return -1;
	if (lc->img->file_size < sizeof(*eh))
		return fail(lc, "truncated ELF header (%zu of %zu bytes)",
			    lc->img->file_size, sizeof(*eh));
	memcpy(&lc->eh, lc->img->file, sizeof(lc->eh));
	if (eh->e_version != EV_CURRENT)
		return fail(lc, "unsupported ELF version %" PRIu32,
			    eh->e_version);
	if (eh->e_machine != EM_X86_64)
		return fail(lc, "not an x86-64 ELF (e_machine %u)",
			    eh->e_machine);
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return fail(lc, "not an executable (e_type %u)", eh->e_type);
	return 0;
}

static void read_phdr(const struct load_ctx *lc, size_t i, Elf64_Phdr *ph)
{
	memcpy(ph, lc->img->file + lc->eh.e_phoff + i * sizeof(*ph),
	       sizeof(*ph));
}

static int check_phdr_table(struct load_ctx *lc)
{
	const Elf64_Ehdr *eh = &lc->eh;

	if (!eh->e_phnum)
		return fail(lc, "no program headers");
	if (eh->e_phnum == PN_XNUM)
		return fail(lc, "extended program header numbering (PN_XNUM) "
				"is not supported");
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return fail(lc, "program header size %u, expected %zu",
			    eh->e_phentsize, sizeof(Elf64_Phdr));
	if (!table_in_file(lc, eh->e_phoff, eh->e_phnum, sizeof(Elf64_Phdr)))
		return fail(lc,
			    "program header table (offset 0x%" PRIx64
			    ", %u entries) runs past the end of the file "
			    "(%zu bytes)",
			    eh->e_phoff, eh->e_phnum, lc->img->file_size);
	return 0;
}

static int check_load_segment(struct load_ctx *lc, size_t i,
			      const Elf64_Phdr *ph)
{
	if (ph->p_filesz > ph->p_memsz)
		return fail(lc,
			    "segment %zu: file size 0x%" PRIx64
			    " exceeds memory size 0x%" PRIx64,
			    i, ph->p_filesz, ph->p_memsz);
	if (!range_in_file(lc, ph->p_offset, ph->p_filesz))
		return fail(lc,
			    "segment %zu: file range 0x%" PRIx64 "+0x%" PRIx64
			    " runs past the end of the file (%zu bytes)",
			    i, ph->p_offset, ph->p_filesz, lc->img->file_size);
	if (range_wraps(ph->p_vaddr, ph->p_memsz))
		return fail(lc,
			    "segment %zu: virtual range 0x%" PRIx64
			    "+0x%" PRIx64 " wraps around the address space",
			    i, ph->p_vaddr, ph->p_memsz);
	if (range_wraps(ph->p_paddr, ph->p_memsz))
		return fail(lc,
			    "segment %zu: physical range 0x%" PRIx64
			    "+0x%" PRIx64 " wraps around the address space",
			    i, ph->p_paddr, ph->p_memsz);
	return 0;
}

/* Two segments claiming the same guest address would make image_read() and
 * the placement in guest memory depend on segment order. */
static int check_segments_disjoint(struct load_ctx *lc)
{
	const struct guest_segment *s = lc->img->segs;
	size_t i, j;

	for (i = 0; i < lc->img->nsegs; i++)
		for (j = i + 1; j < lc->img->nsegs; j++)
			if (ranges_overlap(s[i].vaddr, s[i].memsz, s[j].vaddr,
					   s[j].memsz))
				return fail(lc,
					    "loadable segments at 0x%" PRIx64
					    " and 0x%" PRIx64 " overlap",
					    s[i].vaddr, s[j].vaddr);
	return 0;
}

static int load_segments(struct load_ctx *lc)
{
	struct guest_image *img = lc->img;
	size_t i, nload = 0;
	Elf64_Phdr ph;

	if (check_phdr_table(lc))
		return -1;
	for (i = 0; i < lc->eh.e_phnum; i++) {
		read_phdr(lc, i, &ph);
		if (ph.p_type == PT_LOAD)
			nload++;
	}
	if (!nload)
		return fail(lc, "no loadable (PT_LOAD) segment");
	img->segs = calloc(nload, sizeof(*img->segs));
	if (!img->segs)
		return fail(lc, "out of memory");
	for (i = 0; i < lc->eh.e_phnum; i++) {
		read_phdr(lc, i, &ph);
		if (ph.p_type != PT_LOAD)
			continue;
		if (check_load_segment(lc, i, &ph))
			return -1;
		img->segs[img->nsegs++] = (struct guest_segment){
			.vaddr = ph.p_vaddr,
			.paddr = ph.p_paddr,
			.filesz = ph.p_filesz,
			.memsz = ph.p_memsz,
			.flags = ph.p_flags,
			.data = img->file + ph.p_offset,
		};
	}
	return check_segments_disjoint(lc);
}

static void read_shdr(const struct load_ctx *lc, size_t i, Elf64_Shdr *sh)
{
	memcpy(sh, lc->img->file + lc->eh.e_shoff + i * sizeof(*sh),
	       sizeof(*sh));
}

static int check_shdr_table(struct load_ctx *lc)
{
	const Elf64_Ehdr *eh = &lc->eh;

	if (!eh->e_shnum) {
		/* e_shnum 0 with a table means the count is in section 0. */
		if (eh->e_shoff)
			return fail(lc, "extended section numbering is not "
					"supported");
		return 0;
	}
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return fail(lc, "section header size %u, expected %zu",
			    eh->e_shentsize, sizeof(Elf64_Shdr));
	if (!table_in_file(lc, eh->e_shoff, eh->e_shnum, sizeof(Elf64_Shdr)))
		return fail(lc,
			    "section header table (offset 0x%" PRIx64
			    ", %u entries) runs past the end of the file "
			    "(%zu bytes)",
			    eh->e_shoff, eh->e_shnum, lc->img->file_size);
	if (eh->e_shstrndx == SHN_XINDEX)
		return fail(lc, "extended section name table index is not "
				"supported");
	if (eh->e_shstrndx >= eh->e_shnum)
		return fail(lc,
			    "section name table index %u out of range "
			    "(%u sections)",
			    eh->e_shstrndx, eh->e_shnum);
	return 0;
}

/* A string table must end in NUL so that any in-range index yields a
 * terminated string; then names can point straight into the file. */
static int load_strtab(struct load_ctx *lc, uint64_t index, const char *what,
		       struct strtab *st)
{
	Elf64_Shdr sh;

	if (index == SHN_UNDEF || index >= lc->eh.e_shnum)
		return fail(lc, "%s: section index %" PRIu64 " out of range",
			    what, index);
	read_shdr(lc, index, &sh);
	if (sh.sh_type != SHT_STRTAB)
		return fail(lc, "%s: section %" PRIu64 " is not a string table",
			    what, index);
	if (!sh.sh_size || !range_in_file(lc, sh.sh_offset, sh.sh_size))
		return fail(lc,
			    "%s: section %" PRIu64 " data (offset 0x%" PRIx64
			    ", size 0x%" PRIx64 ") is empty or runs past "
			    "the end of the file",
			    what, index, sh.sh_offset, sh.sh_size);
	st->data = (const char *)lc->img->file + sh.sh_offset;
	st->size = sh.sh_size;
	if (st->data[st->size - 1])
		return fail(lc, "%s: section %" PRIu64 " is not NUL-terminated",
			    what, index);
	return 0;
}

static const char *strtab_at(const struct strtab *st, uint64_t off)
{
	return off < st->size ? st->data + off : NULL;
}

static int load_section(struct load_ctx *lc, size_t i,
			const struct strtab *names)
{
	struct guest_image *img = lc->img;
	const char *name;
	Elf64_Shdr sh;

	read_shdr(lc, i, &sh);
	if (sh.sh_type == SHT_NULL)
		return 0;
	name = strtab_at(names, sh.sh_name);
	if (!name)
		return fail(lc,
			    "section %zu: name offset 0x%" PRIx32
			    " outside the section name table",
			    i, sh.sh_name);
	if (sh.sh_type != SHT_NOBITS &&
	    !range_in_file(lc, sh.sh_offset, sh.sh_size))
		return fail(lc,
			    "section %zu: data (offset 0x%" PRIx64
			    ", size 0x%" PRIx64 ") runs past the end of "
			    "the file (%zu bytes)",
			    i, sh.sh_offset, sh.sh_size, img->file_size);
	img->sects[img->nsects++] = (struct guest_section){
		.name = name,
		.addr = sh.sh_addr,
		.size = sh.sh_size,
		.data = sh.sh_type == SHT_NOBITS ? NULL
						 : img->file + sh.sh_offset,
	};
	return 0;
}

static int load_sections(struct load_ctx *lc)
{
	struct guest_image *img = lc->img;
	struct strtab names;
	size_t i;

	if (check_shdr_table(lc))
		return -1;
	if (!lc->eh.e_shnum)
		return 0;
	if (load_strtab(lc, lc->eh.e_shstrndx, "section name table", &names))
		return -1;
	img->sects = calloc(lc->eh.e_shnum, sizeof(*img->sects));
	if (!img->sects)
		return fail(lc, "out of memory");
	for (i = 0; i < lc->eh.e_shnum; i++)
		if (load_section(lc, i, &names))
			return -1;
	return 0;
}

/* Only FUNC, OBJECT and NOTYPE symbols defined somewhere name code or data;
 * undefined and common symbols have no address in an executable. */
static int is_naming_symbol(const Elf64_Sym *sym, const char *name)
{
	unsigned int type = ELF64_ST_TYPE(sym->st_info);

	if (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE)
		return 0;
	if (sym->st_shndx == SHN_UNDEF || sym->st_shndx == SHN_COMMON)
		return 0;
	return name[0] != '\0';
}

static struct guest_symbol symbol_from_elf(const Elf64_Sym *sym,
					   const char *name)
{
	unsigned int bind = ELF64_ST_BIND(sym->st_info);

	return (struct guest_symbol){
		.name = name,
		.addr = sym->st_value,
		.size = sym->st_size,
		.is_func = ELF64_ST_TYPE(sym->st_info) == STT_FUNC,
		.is_global = bind == STB_GLOBAL || bind == STB_WEAK,
	};
}

/* Lower ranks name a shared address first: the global function is what the
 * rest of the code calls; a local label inside it is an implementation
 * detail; a linker's section marker (__user_rw_start) names a region, not
 * what lies at its start. */
static int symbol_rank(const struct guest_symbol *s)
{
	int marker = strncmp(s->name, "__", 2) == 0;

	if (s->is_func && s->is_global)
		return 0;
	if (s->is_func)
		return 1;
	if (s->is_global)
		return marker ? 3 : 2;
	return marker ? 5 : 4;
}

static int compare_symbols(const void *pa, const void *pb)
{
	const struct guest_symbol *a = pa, *b = pb;
	int ra = symbol_rank(a), rb = symbol_rank(b), byname;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (ra != rb)
		return ra - rb;
	byname = strcmp(a->name, b->name);
	if (byname)
		return byname;
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	return 0;
}

static int find_symtab(struct load_ctx *lc, Elf64_Shdr *symtab)
{
	int found = 0;
	Elf64_Shdr sh;
	size_t i;

	for (i = 0; i < lc->eh.e_shnum; i++) {
		read_shdr(lc, i, &sh);
		if (sh.sh_type != SHT_SYMTAB)
			continue;
		if (found)
			return fail(lc, "more than one symbol table");
		*symtab = sh;
		found = 1;
	}
	return found;
}

static int check_symtab(struct load_ctx *lc, const Elf64_Shdr *sh)
{
	if (sh->sh_entsize != sizeof(Elf64_Sym))
		return fail(lc,
			    "symbol table entry size %" PRIu64 ", expected %zu",
			    sh->sh_entsize, sizeof(Elf64_Sym));
	if (sh->sh_size % sizeof(Elf64_Sym))
		return fail(lc,
			    "symbol table size 0x%" PRIx64
			    " is not a multiple of its entry size",
			    sh->sh_size);
	if (!range_in_file(lc, sh->sh_offset, sh->sh_size))
		return fail(lc,
			    "symbol table (offset 0x%" PRIx64
			    ", size 0x%" PRIx64
			    ") runs past the end of the file (%zu bytes)",
			    sh->sh_offset, sh->sh_size, lc->img->file_size);
	return 0;
}

static int load_symbols(struct load_ctx *lc)
{
	struct guest_image *img = lc->img;
	struct strtab names;
	Elf64_Shdr sh = {0};
	size_t i, n;
	Elf64_Sym sym;
	const char *name;
	int found;

	found = find_symtab(lc, &sh);
	if (found <= 0)
		return found; /* a stripped guest is named by address only */
	if (check_symtab(lc, &sh) ||
	    load_strtab(lc, sh.sh_link, "symbol string table", &names))
		return -1;
	n = sh.sh_size / sizeof(sym);
	if (!n)
		return 0;
	img->syms = calloc(n, sizeof(*img->syms));
	if (!img->syms)
		return fail(lc, "out of memory");
	for (i = 0; i < n; i++) {
		memcpy(&sym, img->file + sh.sh_offset + i * sizeof(sym),
		       sizeof(sym));
		name = strtab_at(&names, sym.st_name);
		if (!name)
			return fail(lc,
				    "symbol %zu: name offset 0x%" PRIx32
				    " outside its string table",
				    i, sym.st_name);
		if (is_naming_symbol(&sym, name))
			img->syms[img->nsyms++] = symbol_from_elf(&sym, name);
	}
	qsort(img->syms, img->nsyms, sizeof(*img->syms), compare_symbols);
	return 0;
}

int image_load(const char *path, struct guest_image *img, char *err,
	       size_t errlen)
{
	struct load_ctx lc = {
		.path = path,
		.err = err,
		.errlen = errlen,
		.img = img,
	};

	memset(img, 0, sizeof(*img));
	if (err && errlen)
		err[0] = '\0';
	img->path = copy_string(path);
	if (!img->path) {
		fail(&lc, "out of memory");
		goto out_free;
	}
	if (read_whole_file(&lc) || check_header(&lc) || load_segments(&lc) ||
	    load_sections(&lc) || load_symbols(&lc))
		goto out_free;
	img->entry = lc.eh.e_entry;
	return 0;

out_free:
	image_free(img);
	return -1;
}

void image_free(struct guest_image *img)
{
	free(img->path);
	free(img->file);
	free(img->segs);
	free(img->syms);
	free(img->sects);
	memset(img, 0, sizeof(*img));
}

static int symbol_covers(const struct guest_symbol *sym, uint64_t addr)
{
	return addr >= sym->addr &&
	       (!sym->size || addr - sym->addr < sym->size);
}

/* How many symbols start at or below addr (syms is sorted by address). */
static size_t symbols_at_or_below(const struct guest_image *img, uint64_t addr)
{
	size_t lo = 0, hi = img->nsyms, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (img->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct guest_symbol *image_symbol_at(const struct guest_image *img,
					   uint64_t addr)
{
	size_t end = symbols_at_or_below(img, addr), start, i;

	/* Walk down one address at a time; within an address the sort
	 * order is the preference order. */
	while (end) {
		start = end - 1;
		while (start &&
		       img->syms[start - 1].addr == img->syms[end - 1].addr)
			start--;
		for (i = start; i < end; i++)
			if (symbol_covers(&img->syms[i], addr))
				return &img->syms[i];
		end = start;
	}
	return NULL;
}

/* Same-named locals (static helpers from different files) are ambiguous;
 * the global, if any, is the one a user means. */
static const struct guest_symbol *find_symbol(const struct guest_image *img,
					      const char *name, size_t len)
{
	const struct guest_symbol *first = NULL;
	size_t i;

	for (i = 0; i < img->nsyms; i++) {
		const struct guest_symbol *s = &img->syms[i];

		if (strncmp(s->name, name, len) || s->name[len])
			continue;
		if (s->is_global)
			return s;
		if (!first)
			first = s;
	}
	return first;
}

int image_symbol_addr(const struct guest_image *img, const char *name,
		      uint64_t *addr)
{
	const struct guest_symbol *s = find_symbol(img, name, strlen(name));

	if (!s)
		return -1;
	*addr = s->addr;
	return 0;
}

char *image_format_addr(const struct guest_image *img, uint64_t addr, char *buf,
			size_t len)
{
	const struct guest_symbol *s;

	if (!buf || !len)
		return buf;
	s = image_symbol_at(img, addr);
	if (s)
		snprintf(buf, len, "%s+0x%" PRIx64, s->name, addr - s->addr);
	else
		snprintf(buf, len, "0x%" PRIx64, addr);
	return buf;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int has_hex_prefix(const char *s)
{
	return s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

/* Strict, unlike strtoull: no sign, no blanks, no empty digits, no
 * silent clamping on overflow, and the whole string must be the number. */
static int parse_u64(const char *s, uint64_t *out)
{
	unsigned int base = has_hex_prefix(s) ? 16 : 10;
	uint64_t v = 0;
	int d;

	if (base == 16)
		s += 2;
	if (!*s)
		return -1;
	for (; *s; s++) {
		d = hex_digit(*s);
		if (d < 0 || (unsigned int)d >= base)
			return -1;
		if (v > (UINT64_MAX - (unsigned int)d) / base)
			return -1;
		v = v * base + (unsigned int)d;
	}
	*out = v;
	return 0;
}

int image_parse_addr(const struct guest_image *img, const char *text,
		     uint64_t *addr)
{
	const struct guest_symbol *s;
	const char *plus;
	uint64_t off = 0;
	size_t name_len;

	if (!text || !*text)
		return -1;
	if (has_hex_prefix(text))
		return parse_u64(text, addr);
	plus = strchr(text, '+');
	name_len = plus ? (size_t)(plus - text) : strlen(text);
	if (plus && parse_u64(plus + 1, &off))
		return -1;
	s = find_symbol(img, text, name_len);
	if (!s || off > UINT64_MAX - s->addr)
		return -1;
	*addr = s->addr + off;
	return 0;
}

const struct guest_section *image_section(const struct guest_image *img,
					  const char *name)
{
	size_t i;

	for (i = 0; i < img->nsects; i++)
		if (!strcmp(img->sects[i].name, name))
			return &img->sects[i];
	return NULL;
}

static const struct guest_segment *segment_at(const struct guest_image *img,
					      uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < img->nsegs; i++)
		if (vaddr >= img->segs[i].vaddr &&
		    vaddr - img->segs[i].vaddr < img->segs[i].memsz)
			return &img->segs[i];
	return NULL;
}

/* Bytes past filesz are the segment's zero-filled tail (.bss). */
static void copy_from_segment(const struct guest_segment *seg, uint64_t off,
			      uint8_t *out, size_t len)
{
	size_t from_file = 0;

	if (off < seg->filesz) {
		from_file = seg->filesz - off < len ? seg->filesz - off : len;
		memcpy(out, seg->data + off, from_file);
	}
	memset(out + from_file, 0, len - from_file);
}

int image_read(const struct guest_image *img, uint64_t vaddr, void *buf,
	       size_t len)
{
	const struct guest_segment *seg;
	uint8_t *out = buf;
	uint64_t off, avail;
	size_t n;

	while (len) {
		seg = segment_at(img, vaddr);
		if (!seg)
			return -1;
		off = vaddr - seg->vaddr;
		avail = seg->memsz - off;
		n = avail < len ? (size_t)avail : len;
		copy_from_segment(seg, off, out, n);
		out += n;
		len -= n;
		vaddr += n;
		/* A segment ending at the top of the address space must not
		 * let the rest of the read wrap around to address 0. */
		if (len && !vaddr)
			return -1;
	}
	return 0;
}
