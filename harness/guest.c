/* Reading the guest's layout out of its ELF, and starting it. */
#include <elf.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "disasm.h"
#include "guest.h"

/* The guest's static GDT (guest/boot.S) describes these two; the host
 * must load matching hidden parts when it enters the guest in long mode. */
static void flat_segment(struct kvm_segment *s, uint16_t sel, int code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->type = code ? 0xb : 0x3; /* accessed code RX / data RW */
	s->l = code;
	s->db = !code;
}

static int va_to_pa(const struct guest_image *img, uint64_t va, uint64_t *pa)
{
	for (size_t i = 0; i < img->nsegs; i++) {
		const struct guest_segment *s = &img->segs[i];
		if (va >= s->vaddr && va - s->vaddr < s->memsz) {
			*pa = s->paddr + (va - s->vaddr);
			return 0;
		}
	}
	return -1;
}

/* Copies a declaration section of fixed-size records (EXPECT, ASSUME). */
static int read_table(const struct guest_image *img, const char *name,
		      void *out, size_t record, int max, int *n, char *err,
		      size_t errlen)
{
	const struct guest_section *sec = image_section(img, name);

	*n = 0;
	if (!sec || !sec->data)
		return 0;
	if (sec->size % record || sec->size / record > (size_t)max) {
		snprintf(err, errlen,
			 "%s: %s is malformed (%zu bytes; at most %d records "
			 "of %zu bytes)",
			 img->path, name, (size_t)sec->size, max, record);
		return -1;
	}
	memcpy(out, sec->data, sec->size);
	*n = (int)(sec->size / record);
	return 0;
}

static int fits(uint64_t gpa, uint64_t len)
{
	return gpa <= IST_GUEST_MEM_SIZE && len <= IST_GUEST_MEM_SIZE - gpa;
}

/* A declaration that is one quad (HANDLES, EXPECT_REENTRY). */
static void read_quad(const struct guest_image *img, const char *name,
		      uint64_t *out)
{
	const struct guest_section *sec = image_section(img, name);

	if (sec && sec->data && sec->size == 8)
		memcpy(out, sec->data, 8);
}

struct needed_symbol {
	const char *name;
	uint64_t *va;
};

int guest_layout_read(const struct guest_image *img, struct guest_layout *lay,
		      char *err, size_t errlen)
{
	uint64_t log_va, krw_start, krw_end, urw_start, urw_end, pml4;
	const struct guest_section *sec;
	struct needed_symbol need[] = {
		{"entry_SYSCALL_64", &lay->entry_syscall},
		{"ist_log", &log_va},
		{"ist_stacks", &lay->ist_stacks_va},
		{"percpu", &lay->percpu_va},
		{"boot_pml4", &pml4},
		{"gdt_table", &lay->gdt_va},
		{"boot_stack_top", &lay->boot_stack_top},
		{"__kernel_rw_start", &krw_start},
		{"__kernel_rw_end", &krw_end},
		{"__user_rw_start", &urw_start},
		{"__user_rw_end", &urw_end},
	};
	struct needed_symbol gates[] = {
		{"asm_exc_nmi", &lay->gate_nmi},
		{"asm_exc_debug", &lay->gate_db},
		{"asm_exc_machine_check", &lay->gate_mc},
	};

	memset(lay, 0, sizeof(*lay));
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (image_symbol_addr(img, need[i].name, need[i].va)) {
			snprintf(err, errlen,
				 "%s: no symbol '%s': not an ist-torture guest "
				 "(link the stub with the guest runtime)",
				 img->path, need[i].name);
			return -1;
		}
	}
	sec = image_section(img, ".entry.text");
	if (!sec || sec->size == 0) {
		snprintf(err, errlen,
			 "%s: no .entry.text section: the stub's entry code "
			 "must live in .section .entry.text",
			 img->path);
		return -1;
	}
	lay->entry_text_start = sec->addr;
	lay->entry_text_end = sec->addr + sec->size;
	lay->start = img->entry;
	if (va_to_pa(img, log_va, &lay->log_gpa) ||
	    va_to_pa(img, lay->ist_stacks_va, &lay->ist_stacks_gpa) ||
	    va_to_pa(img, pml4, &lay->boot_cr3) ||
	    va_to_pa(img, krw_start, &lay->kernel_rw_gpa) ||
	    va_to_pa(img, urw_start, &lay->user_rw_gpa)) {
		snprintf(err, errlen,
			 "%s: a guest data symbol lies outside every loadable "
			 "segment",
			 img->path);
		return -1;
	}
	lay->kernel_rw_len = krw_end - krw_start;
	lay->user_rw_len = urw_end - urw_start;
	lay->user_rw_va = urw_start;
	if (!fits(lay->log_gpa, sizeof(struct ist_log)) ||
	    !fits(lay->ist_stacks_gpa,
		  sizeof(struct ist_stack) * IST_STACK_COUNT) ||
	    !fits(lay->kernel_rw_gpa, lay->kernel_rw_len) ||
	    !fits(lay->user_rw_gpa, lay->user_rw_len) || krw_end < krw_start ||
	    urw_end < urw_start) {
		snprintf(err, errlen,
			 "%s: the guest's data (log, IST stacks, writable "
			 "ranges) does not fit in its %u KiB of memory",
			 img->path, IST_GUEST_MEM_SIZE / 1024);
		return -1;
	}
	for (size_t i = 0; i < img->nsegs; i++) {
		if (!fits(img->segs[i].paddr, img->segs[i].memsz)) {
			snprintf(err, errlen,
				 "%s: a loadable segment (physical 0x%llx, "
				 "%llu bytes) lies outside the guest's %u KiB "
				 "of memory",
				 img->path,
				 (unsigned long long)img->segs[i].paddr,
				 (unsigned long long)img->segs[i].memsz,
				 IST_GUEST_MEM_SIZE / 1024);
			return -1;
		}
	}

	{
		const struct {
			const char *name;
			int *index, fallback;
		} ist[] = {
			{"ist_gate_nmi", &lay->gate_ist_nmi, IST_INDEX_NMI},
			{"ist_gate_debug", &lay->gate_ist_db, IST_INDEX_DB},
			{"ist_gate_machine_check", &lay->gate_ist_mc,
			 IST_INDEX_MC},
		};
		for (size_t i = 0; i < sizeof(ist) / sizeof(ist[0]); i++) {
			uint64_t va;
			uint8_t index = (uint8_t)ist[i].fallback;

			if (!image_symbol_addr(img, ist[i].name, &va) &&
			    (image_read(img, va, &index, 1) ||
			     index > IST_STACK_COUNT)) {
				snprintf(err, errlen,
					 "%s: GATE_IST gives %s slot %u; "
					 "slots are 0 to %d",
					 img->path, ist[i].name, index,
					 IST_STACK_COUNT);
				return -1;
			}
			*ist[i].index = index;
		}
	}
	for (size_t i = 0; i < img->nsegs && lay->ncode < 4; i++)
		if ((img->segs[i].flags & PF_X) && img->segs[i].filesz) {
			lay->code[lay->ncode].gpa = img->segs[i].paddr;
			lay->code[lay->ncode].len = img->segs[i].filesz;
			lay->code[lay->ncode].bytes = img->segs[i].data;
			lay->ncode++;
		}
	if (image_symbol_addr(img, "asm_irq", &lay->gate_irq))
		lay->gate_irq = 0;
	lay->entry_points[lay->nentry_points++] = lay->entry_syscall;
	for (size_t i = 0; i < sizeof(gates) / sizeof(gates[0]); i++) {
		if (image_symbol_addr(img, gates[i].name, gates[i].va))
			*gates[i].va = 0;
		else if (guest_in_entry_text(lay, *gates[i].va))
			lay->entry_points[lay->nentry_points++] = *gates[i].va;
	}

	if (read_table(img, ".ist_commit", lay->commits,
		       sizeof(struct ist_commit), IST_STACK_COUNT,
		       &lay->ncommits, err, errlen) ||
	    read_table(img, ".ist_expect", lay->expects,
		       sizeof(struct ist_expect), GUEST_MAX_EXPECTS,
		       &lay->nexpects, err, errlen) ||
	    read_table(img, ".ist_assume", lay->assumes,
		       sizeof(struct ist_assume), GUEST_MAX_EXPECTS,
		       &lay->nassumes, err, errlen) ||
	    read_table(img, ".ist_trace_user", lay->trace_user,
		       sizeof(lay->trace_user[0]), 4, &lay->ntrace_user, err,
		       errlen) ||
	    read_table(img, ".ist_user_scratch", lay->user_scratch,
		       sizeof(lay->user_scratch[0]), 4, &lay->nuser_scratch,
		       err, errlen))
		return -1;
	for (int i = 0; i < lay->ntrace_user; i++) {
		uint64_t from = lay->trace_user[i].from,
			 to = lay->trace_user[i].to;

		if (from >= to || from < IST_USER_BASE ||
		    to > IST_USER_BASE + 0x200000) {
			snprintf(err, errlen,
				 "%s: TRACE_USER 0x%llx..0x%llx is not a "
				 "range of user code",
				 img->path, (unsigned long long)from,
				 (unsigned long long)to);
			return -1;
		}
	}
	for (int i = 0; i < lay->nassumes; i++)
		lay->assumes[i].text[IST_ASSUME_TEXT - 1] = 0;
	for (int i = 0; i < lay->nexpects; i++) {
		if (lay->expects[i].what < 1 ||
		    lay->expects[i].what > IST_EXPECT_MAX) {
			snprintf(err, errlen,
				 "%s: EXPECT #%d asks for verdict %llu, which "
				 "is not an IST_EXPECT_* of ist_abi.h",
				 img->path, i + 1,
				 (unsigned long long)lay->expects[i].what);
			return -1;
		}
	}
	lay->handles = IST_EVENT_NMI;
	read_quad(img, ".ist_handles", &lay->handles);
	read_quad(img, ".ist_expect_reentry", &lay->expect_reentry);
	if (lay->expect_reentry > IST_EXPECT_MAX) {
		snprintf(err, errlen,
			 "%s: EXPECT_REENTRY asks for verdict %llu, which is "
			 "not an IST_EXPECT_* of ist_abi.h",
			 img->path, (unsigned long long)lay->expect_reentry);
		return -1;
	}
	read_quad(img, ".ist_rules", &lay->rules);
	sec = image_section(img, ".ist_fixup");
	memset(&lay->fixup, 0, sizeof(lay->fixup));
	if (sec && sec->data) {
		if (sec->size != sizeof(lay->fixup)) {
			snprintf(err, errlen,
				 "%s: .ist_fixup is malformed: declare "
				 "FIXUP_TABLE once",
				 img->path);
			return -1;
		}
		memcpy(&lay->fixup, sec->data, sizeof(lay->fixup));
	}
	sec = image_section(img, ".ist_body_stack");
	lay->body_stack[0] = lay->body_stack[1] = 0;
	if (sec && sec->data) {
		if (sec->size != sizeof(lay->body_stack)) {
			snprintf(err, errlen,
				 "%s: .ist_body_stack is malformed: declare "
				 "BODY_STACK once",
				 img->path);
			return -1;
		}
		memcpy(lay->body_stack, sec->data, sizeof(lay->body_stack));
	}
	sec = image_section(img, ".ist_stub");
	lay->info = "";
	if (sec && sec->data && sec->size > 0 && sec->data[sec->size - 1] == 0)
		lay->info = (const char *)sec->data;
	return 0;
}

int guest_code_sites(const struct guest_image *img, struct vm_code_site *sites,
		     int max)
{
	static const char *const code[] = {".text", ".entry.text",
					   ".user.text"};
	int n = 0, have_iretq = 0;

	for (size_t c = 0; c < sizeof(code) / sizeof(code[0]); c++) {
		const struct guest_section *sec = image_section(img, code[c]);
		uint64_t off = 0;

		while (sec && sec->data && off < sec->size) {
			struct insn insn;
			size_t p = 0;
			uint8_t opsize = 4;

			if (insn_decode(sec->data + off, sec->size - off,
					sec->addr + off, &insn) ||
			    insn.len == 0) {
				off++;
				continue;
			}
			/* Legacy prefixes and REX before the opcode. */
			while (p + 1 < insn.len &&
			       (insn.bytes[p] == 0x66 ||
				insn.bytes[p] == 0xf2 ||
				insn.bytes[p] == 0xf3 ||
				(insn.bytes[p] & 0xf0) == 0x40)) {
				if (insn.bytes[p] == 0x66)
					opsize = 2;
				p++;
			}
			if (n == max)
				return -1; /* no room for this one's site */
			if (insn.bytes[p] == 0x0f && p + 1 < insn.len &&
			    (insn.bytes[p + 1] == 0x32 ||
			     insn.bytes[p + 1] == 0x30)) {
				sites[n++] = (struct vm_code_site){
					.rip = insn.addr,
					.len = insn.len,
					.opcode = insn.bytes[p + 1],
				};
			}
			/* MOV to DRn: ModRM's reg is n, rm (and REX.B) the
			 * source. */
			if (insn.bytes[p] == 0x0f && p + 2 < insn.len &&
			    insn.bytes[p + 1] == 0x23) {
				uint8_t modrm = insn.bytes[p + 2];
				int rex_b =
					p > 0 &&
					(insn.bytes[p - 1] & 0xf0) == 0x40 &&
					(insn.bytes[p - 1] & 1);
				sites[n++] = (struct vm_code_site){
					.rip = insn.addr,
					.len = insn.len,
					.opcode = VM_SITE_MOV_DR,
					.dr = (modrm >> 3) & 7,
					.gpr = (uint8_t)((modrm & 7) |
							 (rex_b << 3)),
				};
			}
			/* One IRETQ (REX.W CF) is enough. */
			if (insn.bytes[p] == 0xcf && p > 0 &&
			    (insn.bytes[p - 1] & 0xf8) == 0x48 && !have_iretq) {
				have_iretq = 1;
				sites[n++] = (struct vm_code_site){
					.rip = insn.addr,
					.len = insn.len,
					.opcode = VM_SITE_IRETQ,
				};
			}
			switch (insn.bytes[p]) {
			case 0xe6:
			case 0xee:
				opsize = 1;
				/* fall through */
			case 0xe7:
			case 0xef:
			case 0xf4:
				sites[n++] = (struct vm_code_site){
					.rip = insn.addr,
					.len = insn.len,
					.opcode = insn.bytes[p],
					.port = p + 1 < insn.len
							? insn.bytes[p + 1]
							: 0,
					.opsize = opsize,
				};
			}
			off += insn.len;
		}
	}
	{
		uint64_t gadget;
		uint8_t code[16];
		struct insn insn;

		if (image_symbol_addr(img, "lapic_write_gadget", &gadget) ==
			    0 &&
		    image_read(img, gadget, code, sizeof(code)) == 0 &&
		    insn_decode(code, sizeof(code), gadget, &insn) == 0) {
			if (n == max)
				return -1;
			sites[n++] = (struct vm_code_site){
				.rip = gadget,
				.len = insn.len,
				.opcode = VM_SITE_LAPIC_STORE,
			};
		}
	}
	return n;
}

int guest_boot(struct vm *vm, const struct guest_image *img,
	       const struct guest_layout *lay, uint64_t seed)
{
	struct vcpu_state st;
	uint8_t *all = vm_mem(vm, 0, vm_mem_size(vm));

	memset(all, 0, vm_mem_size(vm));
	vm_mem_written(vm, 0, vm_mem_size(vm));
	for (size_t i = 0; i < img->nsegs; i++) {
		const struct guest_segment *s = &img->segs[i];
		uint8_t *dst = vm_mem(vm, s->paddr, s->memsz);
		if (!dst)
			return -1;
		if ((s->flags & PF_X)
			    ? vm_load_code(vm, s->paddr, s->data, s->filesz)
			    : (memcpy(dst, s->data, s->filesz), 0))
			return -1;
	}
	{
		struct vm_code_site sites[GUEST_MAX_CODE_SITES];
		int n = guest_code_sites(img, sites, GUEST_MAX_CODE_SITES);

		if (n < 0)
			return -1;
		vm_note_code_sites(vm, sites, n);
	}

	vm_get_state(vm, &st);
	memset(&st.regs, 0, sizeof(st.regs));
	st.regs.rip = lay->start;
	st.regs.rsp = lay->boot_stack_top;
	st.regs.rdi = seed;
	st.regs.rflags = 0x2;

	flat_segment(&st.sregs.cs, IST_SEL_KERNEL_CS, 1);
	flat_segment(&st.sregs.ss, IST_SEL_KERNEL_SS, 0);
	st.sregs.ds = st.sregs.es = st.sregs.ss;
	flat_segment(&st.sregs.fs, 0, 0);
	st.sregs.gs = st.sregs.fs;
	st.sregs.gdt.base = lay->gdt_va;
	st.sregs.gdt.limit = 0x3f;
	st.sregs.cr3 = lay->boot_cr3;
	st.sregs.cr0 = 0x80050033; /* PG, AM, WP, NE, ET, MP, PE */
	st.sregs.cr4 = 0x660;	   /* PAE, MCE, OSFXSR, OSXMMEXCPT */
	st.sregs.efer = 0x500;	   /* LME, LMA; the guest sets SCE */
	memset(&st.events, 0, sizeof(st.events));
	st.kernel_gs_base = 0;
	return vm_set_state(vm, &st);
}

uint64_t guest_gate(const struct guest_layout *lay, uint64_t vector)
{
	switch (vector) {
	case IST_VEC_NMI:
		return lay->gate_nmi;
	case IST_VEC_DB:
		return lay->gate_db;
	case IST_VEC_MC:
		return lay->gate_mc;
	case IST_VEC_IRQ:
		return lay->gate_irq;
	}
	return 0;
}

size_t guest_traced_index(const struct guest_layout *lay, uint64_t addr)
{
	size_t base = lay->entry_text_end - lay->entry_text_start;

	if (addr >= lay->entry_text_start && addr < lay->entry_text_end)
		return addr - lay->entry_text_start;
	for (int i = 0; i < lay->ntrace_user; i++) {
		if (addr >= lay->trace_user[i].from &&
		    addr < lay->trace_user[i].to)
			return base + (addr - lay->trace_user[i].from);
		base += lay->trace_user[i].to - lay->trace_user[i].from;
	}
	return 0;
}

size_t guest_traced_size(const struct guest_layout *lay)
{
	size_t n = lay->entry_text_end - lay->entry_text_start;

	for (int i = 0; i < lay->ntrace_user; i++)
		n += lay->trace_user[i].to - lay->trace_user[i].from;
	return n;
}

uint64_t guest_commit_label(const struct guest_layout *lay, int kind)
{
	for (int i = 0; i < lay->ncommits; i++)
		if (lay->commits[i].events & (1ULL << kind))
			return lay->commits[i].label;
	return 0;
}

int guest_gate_ist(const struct guest_layout *lay, uint64_t vector)
{
	switch (vector) {
	case IST_VEC_NMI:
		return lay->gate_ist_nmi;
	case IST_VEC_DB:
		return lay->gate_ist_db;
	case IST_VEC_MC:
		return lay->gate_ist_mc;
	}
	return 0;
}

void guest_ist_stack_range(const struct guest_layout *lay, int index,
			   uint64_t *lo, uint64_t *hi)
{
	uint64_t base = lay->ist_stacks_va +
			(uint64_t)(index - 1) * sizeof(struct ist_stack);

	*lo = base + offsetof(struct ist_stack, stack);
	*hi = *lo + IST_STACK_SIZE;
}

const struct ist_assume *guest_assumption_broken(const struct guest_layout *lay,
						 uint64_t event, uint64_t addr)
{
	for (int i = 0; i < lay->nassumes; i++)
		if ((lay->assumes[i].events & event) &&
		    addr >= lay->assumes[i].from && addr < lay->assumes[i].to)
			return &lay->assumes[i];
	return NULL;
}

uint64_t guest_expectation(const struct guest_layout *lay, uint64_t addr)
{
	for (int i = 0; i < lay->nexpects; i++)
		if (addr >= lay->expects[i].from && addr < lay->expects[i].to)
			return lay->expects[i].what;
	return 0;
}
