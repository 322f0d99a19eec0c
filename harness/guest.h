/* The guest's side of the contract, as the host sees it: where things are
 * in a loaded guest image (entry text, event log, IST stacks, per-CPU
 * area, writable memory), what the stub declares it must get, and how the
 * guest is started.
 */
#ifndef IST_GUEST_H
#define IST_GUEST_H

#include <stdint.h>

#include "../guest/ist_abi.h"
#include "loader.h"
#include "vm.h"

#define GUEST_MAX_ENTRY_POINTS 4
#define GUEST_MAX_EXPECTS      32

struct guest_layout {
	uint64_t entry_text_start, entry_text_end;
	/* Where control enters entry text from outside: the LSTAR target and
	 * the IDT gates the stub provides. */
	uint64_t entry_points[GUEST_MAX_ENTRY_POINTS];
	int nentry_points;
	uint64_t entry_syscall; /* entry_SYSCALL_64 */
	uint64_t gate_nmi, gate_db,
		gate_mc; /* asm_exc_{nmi,debug,machine_check} */
	/* asm_irq: not an entry point (the harness alone raises the
	 * interrupt, and a trace after one starts by breaking on it). */
	uint64_t gate_irq;
	/* Their IST slots (GATE_IST; 0: the interrupted stack). */
	int gate_ist_nmi, gate_ist_db, gate_ist_mc;
	uint64_t log_gpa;	/* struct ist_log */
	uint64_t ist_stacks_va; /* struct ist_stack[IST_STACK_COUNT] */
	uint64_t ist_stacks_gpa;
	uint64_t percpu_va; /* the kernel GS base */
	uint64_t boot_cr3, gdt_va, boot_stack_top, start;
	/* Guest-physical ranges the guest may write: snapshots hold these. */
	uint64_t kernel_rw_gpa, kernel_rw_len;
	uint64_t user_rw_gpa, user_rw_len;
	struct ist_expect expects[GUEST_MAX_EXPECTS];
	int nexpects;
	uint64_t handles;	 /* IST_EVENT_* the stub has entries for */
	uint64_t expect_reentry; /* EXPECT_REENTRY's IST_EXPECT_*, or 0 */
	uint64_t rules;		 /* IST_RULE_* the stub declares */
	struct ist_fixup fixup;	 /* FIXUP_TABLE; from = to = 0 when none */
	struct ist_commit commits[IST_STACK_COUNT]; /* COMMIT */
	int ncommits;
	uint64_t body_stack[2]; /* BODY_STACK [from, to); 0, 0 when none */
	struct ist_assume assumes[GUEST_MAX_EXPECTS];
	int nassumes;
	struct {
		uint64_t from, to;
	} trace_user[4], user_scratch[4]; /* TRACE_USER, USER_SCRATCH */
	int ntrace_user, nuser_scratch;
	uint64_t user_rw_va; /* __user_rw_start */
	/* The image's code, as loaded: the page tables map it writable, so
	 * a runaway guest can overwrite it, and a snapshot restore puts it
	 * back (pointers into the loaded image). */
	struct {
		uint64_t gpa;
		size_t len;
		const uint8_t *bytes;
	} code[4];
	int ncode;
	const char *info; /* the stub's STUB_INFO line, or "" */
};

/* Reads the layout out of a guest image's symbols and sections. Returns -1
 * with a one-line reason naming what the image lacks. */
int guest_layout_read(const struct guest_image *img, struct guest_layout *lay,
		      char *err, size_t errlen);

/* Copies the image into guest memory (zeroing the rest) and puts the vCPU
 * at _start in 64-bit mode with RDI = seed. */
int guest_boot(struct vm *vm, const struct guest_image *img,
	       const struct guest_layout *lay, uint64_t seed);

/* Entry text, or user code the stub traces (TRACE_USER): where boundaries
 * are recorded. */
static inline int guest_in_entry_text(const struct guest_layout *lay,
				      uint64_t addr)
{
	if (addr >= lay->entry_text_start && addr < lay->entry_text_end)
		return 1;
	for (int i = 0; i < lay->ntrace_user; i++)
		if (addr >= lay->trace_user[i].from &&
		    addr < lay->trace_user[i].to)
			return 1;
	return 0;
}

/* A dense index over the traced ranges (entry text first), for per-address
 * counters; guest_traced_size() of them. addr must be traced. */
size_t guest_traced_index(const struct guest_layout *lay, uint64_t addr);
size_t guest_traced_size(const struct guest_layout *lay);

/* The guest's OUT, HLT, RDMSR, WRMSR, IRETQ and MOV-to-DRn instructions,
 * found by decoding its code sections from start to end, for a back end
 * that needs them (QEMU). Returns how many, or -1 when there are more than
 * max: a site left out would be an OUT the back end never stops at. */
#define GUEST_MAX_CODE_SITES 256
int guest_code_sites(const struct guest_image *img, struct vm_code_site *sites,
		     int max);

/* The gate (IDT handler address) of a vector the stub may provide: NMI, #DB
 * or #MC; 0 for others. */
uint64_t guest_gate(const struct guest_layout *lay, uint64_t vector);

/* The commit label the stub declares for an event kind (COMMIT), or 0. */
uint64_t guest_commit_label(const struct guest_layout *lay, int kind);

/* The IST slot of a vector's gate (IST_INDEX_*, or 0 where the stub puts
 * it on the interrupted stack), for NMI, #DB and #MC; 0 for others. */
int guest_gate_ist(const struct guest_layout *lay, uint64_t vector);

/* The stack range [lo, hi) of IST slot `index` (IST_INDEX_*). */
void guest_ist_stack_range(const struct guest_layout *lay, int index,
			   uint64_t *lo, uint64_t *hi);

/* What the stub declares for a boundary: 0 (must pass) or IST_EXPECT_*. */
uint64_t guest_expectation(const struct guest_layout *lay, uint64_t addr);

/* The assumption an event of kind bit `event` (IST_EVENT_*) at addr breaks,
 * or NULL. */
const struct ist_assume *guest_assumption_broken(const struct guest_layout *lay,
						 uint64_t event, uint64_t addr);

#endif
