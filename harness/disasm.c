/* Capstone decode and successor computation for the stepper.
 *
 * What Capstone 4.0.2 (Debian 12, libcapstone4 4.0.2-5) does with
 * instructions newer than it, observed and pinned down in test_disasm.c:
 *
 *  - RDPID (f3 0f c7 f8, "rdpid rax"): decoded with the right length (4)
 *    but as "rdseed eax". Flow (fall-through) is right, so the stepper is
 *    unaffected and the cross-check cannot see it; only the text lies.
 *  - SERIALIZE (0f 01 e8): not decoded; insn_decode() fails, FLOW_STOP.
 *  - LKGS (f2 0f 00 /6, e.g. f2 0f 00 f0 "lkgs ax"): not decoded, register
 *    and memory forms alike; FLOW_STOP.
 *  - FRED's ERETU (f2 0f 01 ca) and ERETS (f3 0f 01 ca): decoded as "clac"
 *    with length 4, i.e. as a fall-through. That is a wrong successor, not
 *    a failed decode: only insn_reaches() catches it, when the CPU lands on
 *    the frame's RIP instead of addr + 4.
 *  - WRMSRNS, RDPKRU, SETSSBSY, UIRET are not decoded either; INTO is
 *    rightly rejected in 64-bit mode. UD0/UD1 decode as two bytes without
 *    their ModRM, but they fault, so the length does not matter.
 *
 * Capstone prints SYSRET the same with and without REX.W although one
 * returns to 64-bit and the other to compat mode; the REX.W form is renamed
 * "sysretq" to match the kernel source and objdump.
 */
#include "disasm.h"

#include <stdio.h>
#include <string.h>

#include <capstone/capstone.h>

#define REG_RIP 16

/* One handle for the process: cs_open() is far too slow to pay per
 * instruction, and the stepper is single-threaded. */
static csh cs_handle;
static cs_insn *cs_scratch;
static int cs_state; /* 0: not opened yet, 1: ready, -1: cs_open failed */

/* Said once: otherwise every instruction would just decode as "(bad)" with
 * no hint that the library, not the guest, is at fault. */
static void capstone_broken(const char *why)
{
	fprintf(stderr, "disasm: Capstone unavailable: %s\n", why);
}

static int capstone_ready(void)
{
	if (cs_state)
		return cs_state > 0;
	cs_state = -1;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs_handle) != CS_ERR_OK) {
		capstone_broken("cs_open failed");
		return 0;
	}
	if (cs_option(cs_handle, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK ||
	    cs_option(cs_handle, CS_OPT_SYNTAX, CS_OPT_SYNTAX_INTEL) !=
		    CS_ERR_OK) {
		capstone_broken(cs_strerror(cs_errno(cs_handle)));
		cs_close(&cs_handle);
		return 0;
	}
	cs_scratch = cs_malloc(cs_handle);
	if (!cs_scratch) {
		capstone_broken("cs_malloc failed");
		cs_close(&cs_handle);
		return 0;
	}
	cs_state = 1;
	return 1;
}

/* Index into struct kvm_regs (field order), or -1. 32-bit registers appear
 * as bases and indexes under an address-size prefix; their value is the
 * low half of the 64-bit register, and the sum is truncated later. */
static int kvm_reg_index(x86_reg reg)
{
	switch (reg) {
	case X86_REG_RAX:
	case X86_REG_EAX:
		return 0;
	case X86_REG_RBX:
	case X86_REG_EBX:
		return 1;
	case X86_REG_RCX:
	case X86_REG_ECX:
		return 2;
	case X86_REG_RDX:
	case X86_REG_EDX:
		return 3;
	case X86_REG_RSI:
	case X86_REG_ESI:
		return 4;
	case X86_REG_RDI:
	case X86_REG_EDI:
		return 5;
	case X86_REG_RSP:
	case X86_REG_ESP:
		return 6;
	case X86_REG_RBP:
	case X86_REG_EBP:
		return 7;
	case X86_REG_R8:
	case X86_REG_R8D:
		return 8;
	case X86_REG_R9:
	case X86_REG_R9D:
		return 9;
	case X86_REG_R10:
	case X86_REG_R10D:
		return 10;
	case X86_REG_R11:
	case X86_REG_R11D:
		return 11;
	case X86_REG_R12:
	case X86_REG_R12D:
		return 12;
	case X86_REG_R13:
	case X86_REG_R13D:
		return 13;
	case X86_REG_R14:
	case X86_REG_R14D:
		return 14;
	case X86_REG_R15:
	case X86_REG_R15D:
		return 15;
	case X86_REG_RIP:
	case X86_REG_EIP:
		return REG_RIP;
	default:
		return -1;
	}
}

static enum insn_flow classify(unsigned int id)
{
	switch (id) {
	case X86_INS_JMP:
		return FLOW_JMP;
	case X86_INS_JA:
	case X86_INS_JAE:
	case X86_INS_JB:
	case X86_INS_JBE:
	case X86_INS_JE:
	case X86_INS_JNE:
	case X86_INS_JG:
	case X86_INS_JGE:
	case X86_INS_JL:
	case X86_INS_JLE:
	case X86_INS_JO:
	case X86_INS_JNO:
	case X86_INS_JP:
	case X86_INS_JNP:
	case X86_INS_JS:
	case X86_INS_JNS:
	case X86_INS_JCXZ:
	case X86_INS_JECXZ:
	case X86_INS_JRCXZ:
	case X86_INS_LOOP:
	case X86_INS_LOOPE:
	case X86_INS_LOOPNE:
	case X86_INS_XBEGIN: /* abort lands on the target */
		return FLOW_JCC;
	case X86_INS_CALL:
		return FLOW_CALL;
	case X86_INS_RET:
		return FLOW_RET;
	case X86_INS_IRET:
	case X86_INS_IRETD:
	case X86_INS_IRETQ:
		return FLOW_IRET;
	case X86_INS_SYSRET:
		return FLOW_SYSRET;
	case X86_INS_SYSCALL:
		return FLOW_SYSCALL;
	/* Far transfers load CS from memory or the stack, and SYSENTER/
	 * SYSEXIT use MSRs; none of that is visible from here. */
	case X86_INS_LJMP:
	case X86_INS_LCALL:
	case X86_INS_RETF:
	case X86_INS_RETFQ:
	case X86_INS_SYSENTER:
	case X86_INS_SYSEXIT:
	case X86_INS_HLT:
	case X86_INS_UD0:
	case X86_INS_UD2:
	case X86_INS_UD2B:
	case X86_INS_INT:
	case X86_INS_INT1:
	case X86_INS_INT3:
	case X86_INS_INTO:
		return FLOW_STOP;
	default:
		return FLOW_NEXT;
	}
}

static int has_flow_target(enum insn_flow flow)
{
	return flow == FLOW_JMP || flow == FLOW_JCC || flow == FLOW_CALL;
}

static int target_from_mem(const x86_op_mem *mem, struct insn_operand *t)
{
	t->kind = OPND_MEM;
	t->base = kvm_reg_index(mem->base);
	t->index = kvm_reg_index(mem->index);
	t->scale = mem->scale;
	t->disp = mem->disp;
	if ((mem->base != X86_REG_INVALID && t->base < 0) ||
	    (mem->index != X86_REG_INVALID && t->index < 0) ||
	    t->index == REG_RIP)
		return -1;
	return 0;
}

/* Returns -1 when the target uses something the stepper cannot evaluate. */
static int fill_target(const cs_x86 *x86, struct insn_operand *t)
{
	const cs_x86_op *op = &x86->operands[0];

	t->base = t->index = t->reg = -1;
	if (x86->op_count < 1)
		return -1;
	switch (op->type) {
	case X86_OP_IMM:
		t->kind = OPND_IMM;
		t->imm = op->imm;
		return 0;
	case X86_OP_REG:
		t->kind = OPND_REG;
		t->reg = kvm_reg_index(op->reg);
		return t->reg >= 0 && t->reg != REG_RIP ? 0 : -1;
	case X86_OP_MEM:
		return target_from_mem(&op->mem, t);
	default:
		return -1;
	}
}

/* MOV SS, m16: operand 0 is SS, operand 1 the memory it loads. */
static void note_ss_source(const cs_insn *ci, struct insn *insn)
{
	const cs_x86 *x86 = &ci->detail->x86;

	if (ci->id != X86_INS_MOV || x86->op_count != 2 ||
	    x86->operands[0].type != X86_OP_REG ||
	    x86->operands[0].reg != X86_REG_SS ||
	    x86->operands[1].type != X86_OP_MEM)
		return;
	if (target_from_mem(&x86->operands[1].mem, &insn->ss_source))
		insn->ss_source.kind = OPND_NONE;
}

static void note_segments(const cs_x86 *x86, struct insn *insn)
{
	int i;

	for (i = 0; i < x86->op_count; i++) {
		if (x86->operands[i].type != X86_OP_MEM)
			continue;
		if (x86->operands[i].mem.segment == X86_REG_GS)
			insn->seg_gs = 1;
		if (x86->operands[i].mem.segment == X86_REG_FS)
			insn->seg_fs = 1;
	}
}

/* Appends src to the NUL-terminated dst, cutting it to fit. A few AVX-512
 * operand lists are longer than insn->text; that only shortens a log line. */
static void append_cut(char *dst, size_t size, const char *src)
{
	size_t used = strlen(dst), n = strlen(src);

	if (used + 1 >= size)
		return;
	if (n > size - used - 1)
		n = size - used - 1;
	memcpy(dst + used, src, n);
	dst[used + n] = '\0';
}

static void format_text(const cs_insn *ci, struct insn *insn)
{
	const char *mnemonic = ci->mnemonic;

	if (ci->id == X86_INS_SYSRET && (ci->detail->x86.rex & 0x8))
		mnemonic = "sysretq";
	insn->text[0] = '\0';
	append_cut(insn->text, sizeof(insn->text), mnemonic);
	if (ci->op_str[0]) {
		append_cut(insn->text, sizeof(insn->text), " ");
		append_cut(insn->text, sizeof(insn->text), ci->op_str);
	}
}

static int decode_failed(struct insn *insn)
{
	snprintf(insn->text, sizeof(insn->text), "(bad)");
	insn->flow = FLOW_STOP;
	return -1;
}

int insn_decode(const uint8_t *code, size_t code_len, uint64_t addr,
		struct insn *insn)
{
	const cs_x86 *x86;
	uint64_t at = addr;

	memset(insn, 0, sizeof(*insn));
	insn->addr = addr;
	insn->target.kind = OPND_NONE;
	insn->target.base = insn->target.index = insn->target.reg = -1;
	insn->ss_source = insn->target;
	if (!code || !code_len || !capstone_ready())
		return decode_failed(insn);
	if (!cs_disasm_iter(cs_handle, &code, &code_len, &at, cs_scratch) ||
	    cs_scratch->size > sizeof(insn->bytes))
		return decode_failed(insn);

	x86 = &cs_scratch->detail->x86;
	insn->len = (uint8_t)cs_scratch->size;
	memcpy(insn->bytes, cs_scratch->bytes, insn->len);
	format_text(cs_scratch, insn);
	note_segments(x86, insn);
	note_ss_source(cs_scratch, insn);
	insn->flow = classify(cs_scratch->id);
	/* A target that cannot be evaluated cannot be followed. */
	if (has_flow_target(insn->flow) && fill_target(x86, &insn->target))
		insn->flow = FLOW_STOP;
	return 0;
}

/* Operand and address size matter for a few successors (SYSRET, IRET,
 * addr32 operands), and struct insn has no field for them, so they are
 * read back from insn->bytes. In 64-bit mode legacy prefixes come first in
 * any order, and a REX counts only when it immediately precedes the
 * opcode. */
struct prefixes {
	int opsize16, addr32, rex_w;
};

static int is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0xf0:
	case 0xf2:
	case 0xf3:
	case 0x2e:
	case 0x36:
	case 0x3e:
	case 0x26:
	case 0x64:
	case 0x65:
	case 0x66:
	case 0x67:
		return 1;
	default:
		return 0;
	}
}

static struct prefixes scan_prefixes(const struct insn *insn)
{
	struct prefixes p = {0, 0, 0};
	size_t i;

	for (i = 0; i < insn->len; i++) {
		uint8_t b = insn->bytes[i];

		if (is_legacy_prefix(b)) {
			p.opsize16 |= b == 0x66;
			p.addr32 |= b == 0x67;
			p.rex_w = 0;
		} else if ((b & 0xf0) == 0x40) {
			p.rex_w = !!(b & 0x8);
		} else {
			break;
		}
	}
	return p;
}

static uint64_t reg_value(const struct kvm_regs *regs, int index)
{
	static const size_t offsets[] = {
		offsetof(struct kvm_regs, rax), offsetof(struct kvm_regs, rbx),
		offsetof(struct kvm_regs, rcx), offsetof(struct kvm_regs, rdx),
		offsetof(struct kvm_regs, rsi), offsetof(struct kvm_regs, rdi),
		offsetof(struct kvm_regs, rsp), offsetof(struct kvm_regs, rbp),
		offsetof(struct kvm_regs, r8),	offsetof(struct kvm_regs, r9),
		offsetof(struct kvm_regs, r10), offsetof(struct kvm_regs, r11),
		offsetof(struct kvm_regs, r12), offsetof(struct kvm_regs, r13),
		offsetof(struct kvm_regs, r14), offsetof(struct kvm_regs, r15),
		offsetof(struct kvm_regs, rip),
	};
	uint64_t v;

	memcpy(&v, (const char *)regs + offsets[index], sizeof(v));
	return v;
}

/* Reads a little-endian value of width bytes (8, 4 or 2), zero-extended. */
static int read_le(mem_reader read, void *ctx, uint64_t va, size_t width,
		   uint64_t *out)
{
	uint8_t b[8];
	size_t i;

	if (!read || read(ctx, va, b, width))
		return -1;
	*out = 0;
	for (i = width; i--;)
		*out = *out << 8 | b[i];
	return 0;
}

/* RIP-relative displacements count from the end of the instruction, which
 * is not what regs->rip holds at the boundary before it. */
static uint64_t operand_reg(const struct insn *insn,
			    const struct kvm_regs *regs, int index)
{
	if (index == REG_RIP)
		return insn->addr + insn->len;
	return reg_value(regs, index);
}

static uint64_t effective_address(const struct insn *insn,
				  const struct insn_operand *t,
				  const struct kvm_regs *regs, uint64_t gs_base,
				  uint64_t fs_base)
{
	uint64_t ea = (uint64_t)t->disp;

	if (t->base >= 0)
		ea += operand_reg(insn, regs, t->base);
	if (t->index >= 0)
		ea += operand_reg(insn, regs, t->index) * (uint64_t)t->scale;
	if (scan_prefixes(insn).addr32)
		ea &= 0xffffffff;
	/* Only the operand's own segment override can carry a base in
	 * 64-bit mode, and a branch or a MOV SS has a single memory operand.
	 */
	if (insn->seg_gs)
		ea += gs_base;
	else if (insn->seg_fs)
		ea += fs_base;
	return ea;
}

/* struct insn may be built by hand (tests, replayed traces), so register
 * numbers are checked before they index struct kvm_regs. */
static int is_gpr(int reg)
{
	return reg >= 0 && reg < REG_RIP;
}

static int is_address_reg(int reg)
{
	return reg >= -1 && reg <= REG_RIP;
}

/* Near branches in 64-bit mode always use a 64-bit target (Intel ignores a
 * 0x66 prefix on them), so memory targets are 8 bytes. */
static int branch_target(const struct insn *insn, const struct kvm_regs *regs,
			 uint64_t gs_base, uint64_t fs_base, mem_reader read,
			 void *ctx, uint64_t *target)
{
	const struct insn_operand *t = &insn->target;

	switch (t->kind) {
	case OPND_IMM:
		*target = (uint64_t)t->imm;
		return 0;
	case OPND_REG:
		if (!is_gpr(t->reg))
			return -1;
		*target = reg_value(regs, t->reg);
		return 0;
	case OPND_MEM:
		if (!is_address_reg(t->base) || !is_address_reg(t->index))
			return -1;
		return read_le(
			read, ctx,
			effective_address(insn, t, regs, gs_base, fs_base), 8,
			target);
	default:
		return -1;
	}
}

/* IRET pops RIP at its operand size; Linux only uses IRETQ, but a 32-bit
 * IRET frame holds a 4-byte EIP. */
static size_t iret_width(const struct insn *insn)
{
	struct prefixes p = scan_prefixes(insn);

	if (p.rex_w)
		return 8;
	return p.opsize16 ? 2 : 4;
}

/* SYSRET without REX.W returns to compat mode at ECX. */
static uint64_t sysret_target(const struct insn *insn,
			      const struct kvm_regs *regs)
{
	if (scan_prefixes(insn).rex_w)
		return regs->rcx;
	return regs->rcx & 0xffffffff;
}

int insn_successors(const struct insn *insn, const struct kvm_regs *regs,
		    uint64_t gs_base, uint64_t fs_base, mem_reader read,
		    void *ctx, uint64_t out[2])
{
	uint64_t next = insn->addr + insn->len;

	switch (insn->flow) {
	case FLOW_NEXT:
		out[0] = next;
		return 1;
	case FLOW_JMP:
		if (branch_target(insn, regs, gs_base, fs_base, read, ctx, out))
			return -1;
		return 1;
	case FLOW_JCC:
		if (branch_target(insn, regs, gs_base, fs_base, read, ctx, out))
			return -1;
		out[1] = next;
		return out[0] == next ? 1 : 2;
	case FLOW_CALL:
		/* Not deduplicated even for "call next": out[1] is the
		 * return address by position. */
		if (branch_target(insn, regs, gs_base, fs_base, read, ctx, out))
			return -1;
		out[1] = next;
		return 2;
	case FLOW_RET:
		return read_le(read, ctx, regs->rsp, 8, out) ? -1 : 1;
	case FLOW_IRET:
		return read_le(read, ctx, regs->rsp, iret_width(insn), out) ? -1
									    : 1;
	case FLOW_SYSRET:
		out[0] = sysret_target(insn, regs);
		return 1;
	case FLOW_SYSCALL:
	case FLOW_STOP:
	default:
		return 0;
	}
}

int insn_ss_source(const struct insn *insn, const struct kvm_regs *regs,
		   uint64_t gs_base, uint64_t fs_base, uint64_t *addr)
{
	const struct insn_operand *t = &insn->ss_source;

	if (t->kind != OPND_MEM || !is_address_reg(t->base) ||
	    !is_address_reg(t->index))
		return -1;
	*addr = effective_address(insn, t, regs, gs_base, fs_base);
	return 0;
}

int insn_reaches(const struct insn *insn, const struct kvm_regs *regs,
		 uint64_t gs_base, uint64_t fs_base, mem_reader read, void *ctx,
		 uint64_t reached)
{
	uint64_t out[2];
	int i, n;

	if (insn->flow == FLOW_SYSCALL || insn->flow == FLOW_STOP)
		return 1;
	/* Successors that cannot be computed confirm nothing. */
	n = insn_successors(insn, regs, gs_base, fs_base, read, ctx, out);
	for (i = 0; i < n; i++)
		if (out[i] == reached)
			return 1;
	return 0;
}
