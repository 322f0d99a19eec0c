/* Unit test for disasm.c: decode known encodings and check length, text,
 * flow and every successor the stepper would set a breakpoint on. Indirect
 * targets are read through a fake guest memory.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "disasm.h"

/* Entry code lives high in the kernel half; decoding there also covers
 * targets that wrap and sign-extended displacements. */
#define TEXT	0xffffffff81000000ull
#define STACK	0xffffc90000004000ull
#define GS_BASE 0xffff888000010000ull
#define FS_BASE 0x00007f0000001000ull

struct fake_mem {
	uint64_t base;
	uint8_t bytes[256];
	int reads;
};

static int fake_read(void *ctx, uint64_t va, void *buf, size_t len)
{
	struct fake_mem *m = ctx;

	m->reads++;
	if (va < m->base || va - m->base > sizeof(m->bytes) ||
	    len > sizeof(m->bytes) - (va - m->base))
		return -1;
	memcpy(buf, m->bytes + (va - m->base), len);
	return 0;
}

static void put_u64(struct fake_mem *m, uint64_t va, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		m->bytes[va - m->base + i] = (uint8_t)(v >> (8 * i));
}

#define DECODE(insn, addr, ...)                                                \
	insn_decode((const uint8_t[]){__VA_ARGS__},                            \
		    sizeof((const uint8_t[]){__VA_ARGS__}), (addr), (insn))

static int successors(const struct insn *insn, const struct kvm_regs *regs,
		      struct fake_mem *mem, uint64_t out[2])
{
	out[0] = out[1] = 0xdeadbeef;
	return insn_successors(insn, regs, GS_BASE, FS_BASE, fake_read, mem,
			       out);
}

static void check_fall_through(const char *text, size_t len,
			       const struct insn *insn)
{
	struct kvm_regs regs = {0};
	uint64_t out[2];

	CHECK_EQ_STR(insn->text, text);
	CHECK_EQ_U64(insn->len, len);
	CHECK_EQ_U64(insn->flow, FLOW_NEXT);
	CHECK_EQ_U64(insn_successors(insn, &regs, 0, 0, NULL, NULL, out), 1);
	CHECK_EQ_U64(out[0], insn->addr + len);
}

static void test_privileged_entry_insns(void)
{
	struct insn insn;
	struct kvm_regs regs = {0};
	uint64_t out[2];

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x0f, 0x01, 0xf8), 0);
	check_fall_through("swapgs", 3, &insn);
	CHECK_EQ_U64(insn.addr, TEXT);
	CHECK(!memcmp(insn.bytes, "\x0f\x01\xf8", 3));

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x48, 0x0f, 0x07), 0);
	CHECK_EQ_STR(insn.text, "sysretq");
	CHECK_EQ_U64(insn.len, 3);
	CHECK_EQ_U64(insn.flow, FLOW_SYSRET);
	regs.rcx = 0x00007fffdeadbeefull;
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), 1);
	CHECK_EQ_U64(out[0], 0x00007fffdeadbeefull);

	/* sysretl, the compat return: EIP is ECX. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x0f, 0x07), 0);
	CHECK_EQ_STR(insn.text, "sysret");
	CHECK_EQ_U64(insn.flow, FLOW_SYSRET);
	regs.rcx = 0xffffffff08048000ull;
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), 1);
	CHECK_EQ_U64(out[0], 0x08048000);

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x0f, 0x05), 0);
	CHECK_EQ_STR(insn.text, "syscall");
	CHECK_EQ_U64(insn.flow, FLOW_SYSCALL);
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), 0);
}

static void test_returns(void)
{
	struct fake_mem mem = {.base = STACK};
	struct kvm_regs regs = {.rsp = STACK + 0x10};
	struct insn insn;
	uint64_t out[2];

	put_u64(&mem, STACK + 0x10, 0x0000000000401234ull);
	put_u64(&mem, STACK + 0x18, 0x33); /* CS of an iret frame */

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x48, 0xcf), 0);
	CHECK_EQ_STR(insn.text, "iretq");
	CHECK_EQ_U64(insn.len, 2);
	CHECK_EQ_U64(insn.flow, FLOW_IRET);
	CHECK_EQ_U64(successors(&insn, &regs, &mem, out), 1);
	CHECK_EQ_U64(out[0], 0x401234);

	/* A 32-bit IRET frame holds a 4-byte EIP. */
	put_u64(&mem, STACK + 0x10, 0xffffffff00401234ull);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xcf), 0);
	CHECK_EQ_STR(insn.text, "iretd");
	CHECK_EQ_U64(insn.flow, FLOW_IRET);
	CHECK_EQ_U64(successors(&insn, &regs, &mem, out), 1);
	CHECK_EQ_U64(out[0], 0x401234);

	put_u64(&mem, STACK + 0x10, TEXT + 0x777);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xc3), 0);
	CHECK_EQ_STR(insn.text, "ret");
	CHECK_EQ_U64(insn.flow, FLOW_RET);
	CHECK_EQ_U64(successors(&insn, &regs, &mem, out), 1);
	CHECK_EQ_U64(out[0], TEXT + 0x777);

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xc2, 0x08, 0x00), 0);
	CHECK_EQ_STR(insn.text, "ret 8");
	CHECK_EQ_U64(insn.len, 3);
	CHECK_EQ_U64(insn.flow, FLOW_RET);
	CHECK_EQ_U64(successors(&insn, &regs, &mem, out), 1);
	CHECK_EQ_U64(out[0], TEXT + 0x777);

	/* A stack that cannot be read is an error, not a guess. */
	regs.rsp = 0x1000;
	CHECK_EQ_U64(successors(&insn, &regs, &mem, out), -1);
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), -1);
}

static void test_direct_branches(void)
{
	struct kvm_regs regs = {0};
	struct insn insn;
	uint64_t out[2];

	/* call rel32: the target first, then the return address. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xe8, 0x10, 0x00, 0x00, 0x00), 0);
	CHECK_EQ_U64(insn.len, 5);
	CHECK_EQ_U64(insn.flow, FLOW_CALL);
	CHECK_EQ_U64(insn.target.kind, OPND_IMM);
	CHECK_EQ_U64(insn.target.imm, TEXT + 0x15);
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), 2);
	CHECK_EQ_U64(out[0], TEXT + 0x15);
	CHECK_EQ_U64(out[1], TEXT + 5);

	/* Backwards rel32 call. */
	CHECK_EQ_U64(DECODE(&insn, TEXT + 0x100, 0xe8, 0xfb, 0xfe, 0xff, 0xff),
		     0);
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), 2);
	CHECK_EQ_U64(out[0], TEXT);

	/* "call next" (a RIP read) keeps both positions. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xe8, 0x00, 0x00, 0x00, 0x00), 0);
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), 2);
	CHECK_EQ_U64(out[0], TEXT + 5);
	CHECK_EQ_U64(out[1], TEXT + 5);

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xeb, 0xfe), 0);
	CHECK_EQ_STR(insn.text, "jmp 0xffffffff81000000");
	CHECK_EQ_U64(insn.flow, FLOW_JMP);
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), 1);
	CHECK_EQ_U64(out[0], TEXT);

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x74, 0x05), 0);
	CHECK_EQ_STR(insn.text, "je 0xffffffff81000007");
	CHECK_EQ_U64(insn.flow, FLOW_JCC);
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), 2);
	CHECK_EQ_U64(out[0], TEXT + 7);
	CHECK_EQ_U64(out[1], TEXT + 2);

	/* A jcc to the next instruction has one successor. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x75, 0x00), 0);
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), 1);
	CHECK_EQ_U64(out[0], TEXT + 2);

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x0f, 0x85, 0x00, 0x01, 0x00, 0x00),
		     0);
	CHECK_EQ_U64(insn.len, 6);
	CHECK_EQ_U64(insn.flow, FLOW_JCC);
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), 2);
	CHECK_EQ_U64(out[0], TEXT + 0x106);

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xe2, 0xfe), 0);
	CHECK_EQ_STR(insn.text, "loop 0xffffffff81000000");
	CHECK_EQ_U64(insn.flow, FLOW_JCC);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xe3, 0x10), 0);
	CHECK_EQ_U64(insn.flow, FLOW_JCC);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x67, 0xe3, 0x10), 0);
	CHECK_EQ_STR(insn.text, "jecxz 0xffffffff81000013");
	CHECK_EQ_U64(insn.flow, FLOW_JCC);
}

static void test_indirect_branches(void)
{
	struct fake_mem mem = {.base = TEXT + 0x1000};
	struct kvm_regs regs = {0};
	struct insn insn;
	uint64_t out[2];

	/* jmp [rip + 0x10] at TEXT + 0xffa: the slot is at the end of the
	 * 6-byte instruction plus 0x10, i.e. TEXT + 0x1010. */
	put_u64(&mem, TEXT + 0x1010, TEXT + 0x4242);
	CHECK_EQ_U64(
		DECODE(&insn, TEXT + 0xffa, 0xff, 0x25, 0x10, 0x00, 0x00, 0x00),
		0);
	CHECK_EQ_STR(insn.text, "jmp qword ptr [rip + 0x10]");
	CHECK_EQ_U64(insn.flow, FLOW_JMP);
	CHECK_EQ_U64(insn.target.kind, OPND_MEM);
	CHECK_EQ_U64(insn.target.base, 16);
	CHECK_EQ_U64(insn.target.index, -1);
	CHECK_EQ_U64(insn.target.disp, 0x10);
	regs.rip = 0x1; /* must not be used: rip-relative is from insn end */
	mem.reads = 0;
	CHECK_EQ_U64(successors(&insn, &regs, &mem, out), 1);
	CHECK_EQ_U64(out[0], TEXT + 0x4242);
	CHECK_EQ_U64(mem.reads, 1);
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), -1);

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xff, 0xd0), 0);
	CHECK_EQ_STR(insn.text, "call rax");
	CHECK_EQ_U64(insn.flow, FLOW_CALL);
	CHECK_EQ_U64(insn.target.kind, OPND_REG);
	CHECK_EQ_U64(insn.target.reg, 0);
	regs.rax = TEXT + 0x900;
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), 2);
	CHECK_EQ_U64(out[0], TEXT + 0x900);
	CHECK_EQ_U64(out[1], TEXT + 2);

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x41, 0xff, 0xe3), 0);
	CHECK_EQ_STR(insn.text, "jmp r11");
	CHECK_EQ_U64(insn.target.reg, 11);
	regs.r11 = TEXT + 0xabc;
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), 1);
	CHECK_EQ_U64(out[0], TEXT + 0xabc);
	/* A hand-built operand naming no register is refused, not read. */
	insn.target.reg = 99;
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, NULL, NULL, out), -1);

	/* call [rbx + rcx*8 + 0x20] */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xff, 0x54, 0xcb, 0x20), 0);
	CHECK_EQ_STR(insn.text, "call qword ptr [rbx + rcx*8 + 0x20]");
	CHECK_EQ_U64(insn.target.base, 1);
	CHECK_EQ_U64(insn.target.index, 2);
	CHECK_EQ_U64(insn.target.scale, 8);
	CHECK_EQ_U64(insn.target.disp, 0x20);
	regs.rbx = TEXT + 0x1000;
	regs.rcx = 3;
	put_u64(&mem, TEXT + 0x1038, TEXT + 0x5555);
	CHECK_EQ_U64(successors(&insn, &regs, &mem, out), 2);
	CHECK_EQ_U64(out[0], TEXT + 0x5555);
	CHECK_EQ_U64(out[1], TEXT + 4);

	/* jmp [r12 + r13*4 - 8]: REX-extended registers, negative disp. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x43, 0xff, 0x64, 0xac, 0xf8), 0);
	CHECK_EQ_U64(insn.target.base, 12);
	CHECK_EQ_U64(insn.target.index, 13);
	CHECK_EQ_U64(insn.target.scale, 4);
	CHECK_EQ_U64(insn.target.disp, -8);
	regs.r12 = TEXT + 0x1008;
	regs.r13 = 2;
	put_u64(&mem, TEXT + 0x1008, TEXT + 0x6666);
	CHECK_EQ_U64(successors(&insn, &regs, &mem, out), 1);
	CHECK_EQ_U64(out[0], TEXT + 0x6666);

	/* jmp [eax]: an address-size prefix truncates the address, so the
	 * garbage in RAX's upper half must not reach the read. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x67, 0xff, 0x20), 0);
	CHECK_EQ_STR(insn.text, "jmp qword ptr [eax]");
	CHECK_EQ_U64(insn.target.base, 0);
	mem.base = 0x1000;
	put_u64(&mem, 0x1040, TEXT + 0x7777);
	regs.rax = 0xdead000000001040ull;
	CHECK_EQ_U64(successors(&insn, &regs, &mem, out), 1);
	CHECK_EQ_U64(out[0], TEXT + 0x7777);
}

static void test_segment_operands(void)
{
	struct fake_mem mem = {.base = GS_BASE};
	struct kvm_regs regs = {0};
	struct insn insn;
	uint64_t out[2];

	/* jmp qword ptr gs:[0x10], as a per-CPU trampoline would. */
	put_u64(&mem, GS_BASE + 0x10, TEXT + 0x8888);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x65, 0xff, 0x24, 0x25, 0x10, 0x00,
			    0x00, 0x00),
		     0);
	CHECK_EQ_STR(insn.text, "jmp qword ptr gs:[0x10]");
	CHECK_EQ_U64(insn.len, 8);
	CHECK_EQ_U64(insn.flow, FLOW_JMP);
	CHECK(insn.seg_gs);
	CHECK(!insn.seg_fs);
	CHECK_EQ_U64(insn.target.base, -1);
	CHECK_EQ_U64(successors(&insn, &regs, &mem, out), 1);
	CHECK_EQ_U64(out[0], TEXT + 0x8888);
	/* With GS base 0 the slot is unmapped in the fake memory. */
	CHECK_EQ_U64(insn_successors(&insn, &regs, 0, 0, fake_read, &mem, out),
		     -1);

	/* mov rsp, gs:[0x10]: the cpu_current_top_of_stack load. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x65, 0x48, 0x8b, 0x24, 0x25, 0x10,
			    0x00, 0x00, 0x00),
		     0);
	check_fall_through("mov rsp, qword ptr gs:[0x10]", 9, &insn);
	CHECK(insn.seg_gs);
	CHECK(!insn.seg_fs);

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28,
			    0x00, 0x00, 0x00),
		     0);
	check_fall_through("mov rax, qword ptr fs:[0x28]", 9, &insn);
	CHECK(insn.seg_fs);
	CHECK(!insn.seg_gs);

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x48, 0x8b, 0x04, 0x24), 0);
	check_fall_through("mov rax, qword ptr [rsp]", 4, &insn);
	CHECK(!insn.seg_gs);
	CHECK(!insn.seg_fs);
}

static void test_fall_through(void)
{
	struct insn insn;

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x50), 0);
	check_fall_through("push rax", 1, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x41, 0x5f), 0);
	check_fall_through("pop r15", 2, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x9c), 0);
	check_fall_through("pushfq", 1, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x0f, 0x01, 0xca), 0);
	check_fall_through("clac", 3, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x0f, 0xae, 0xe8), 0);
	check_fall_through("lfence", 3, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x0f, 0x00, 0x2c, 0x24), 0);
	check_fall_through("verw word ptr [rsp]", 4, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xf3, 0x48, 0x0f, 0xae, 0xd8), 0);
	check_fall_through("wrgsbase rax", 5, &insn);
	/* Decoding stops at the first instruction. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x90, 0x0f, 0x0b), 0);
	check_fall_through("nop", 1, &insn);
}

static void check_stop(const char *text, size_t len, const struct insn *insn)
{
	struct kvm_regs regs = {0};
	uint64_t out[2];

	CHECK_EQ_STR(insn->text, text);
	CHECK_EQ_U64(insn->len, len);
	CHECK_EQ_U64(insn->flow, FLOW_STOP);
	CHECK_EQ_U64(insn_successors(insn, &regs, 0, 0, NULL, NULL, out), 0);
}

static void test_stops(void)
{
	struct insn insn;

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xf4), 0);
	check_stop("hlt", 1, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x0f, 0x0b), 0);
	check_stop("ud2", 2, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xcc), 0);
	check_stop("int3", 1, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xcd, 0x80), 0);
	check_stop("int 0x80", 2, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xf1), 0);
	check_stop("int1", 1, &insn);
	/* Far return: the new CS is beyond what the stepper follows. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x48, 0xcb), 0);
	check_stop("retfq", 2, &insn);
}

static void test_bad_decodes(void)
{
	struct insn insn;

	/* push es does not exist in 64-bit mode. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x06), -1);
	check_stop("(bad)", 0, &insn);
	CHECK_EQ_U64(insn.addr, TEXT);
	/* into is invalid in 64-bit mode too. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xce), -1);
	check_stop("(bad)", 0, &insn);
	/* A call cut short by the end of the buffer. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xe8, 0x10, 0x00), -1);
	check_stop("(bad)", 0, &insn);
	CHECK_EQ_U64(insn_decode(NULL, 0, TEXT, &insn), -1);
	check_stop("(bad)", 0, &insn);
	/* One prefix more than the architectural 15-byte limit. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
			    0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00,
			    0x00, 0x00),
		     -1);
	check_stop("(bad)", 0, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
			    0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00,
			    0x00),
		     0);
	CHECK_EQ_U64(insn.len, 15);
}

/* Pins what Capstone 4.0.2 does with instructions newer than it (see the
 * comment at the top of disasm.c). A failure here means the library
 * changed: update that comment and the stepper's expectations with it. */
static void test_capstone_4_quirks(void)
{
	struct insn insn;

	/* RDPID rax: right length and flow, wrong text. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xf3, 0x0f, 0xc7, 0xf8), 0);
	check_fall_through("rdseed eax", 4, &insn);

	/* SERIALIZE: not decoded. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x0f, 0x01, 0xe8), -1);
	check_stop("(bad)", 0, &insn);

	/* LKGS ax and LKGS [rax]: not decoded. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xf2, 0x0f, 0x00, 0xf0), -1);
	check_stop("(bad)", 0, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xf2, 0x0f, 0x00, 0x30), -1);

	/* ERETU / ERETS: decoded as a 4-byte clac that falls through. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xf2, 0x0f, 0x01, 0xca), 0);
	check_fall_through("clac", 4, &insn);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xf3, 0x0f, 0x01, 0xca), 0);
	check_fall_through("clac", 4, &insn);
}

static void test_reaches(void)
{
	struct fake_mem mem = {.base = STACK};
	struct kvm_regs regs = {.rsp = STACK};
	struct insn insn;

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x0f, 0x01, 0xf8), 0);
	CHECK(insn_reaches(&insn, &regs, 0, 0, NULL, NULL, TEXT + 3));
	/* A length off by one is exactly the mis-decode to catch. */
	CHECK(!insn_reaches(&insn, &regs, 0, 0, NULL, NULL, TEXT + 4));
	CHECK(!insn_reaches(&insn, &regs, 0, 0, NULL, NULL, TEXT + 2));

	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x74, 0x05), 0);
	CHECK(insn_reaches(&insn, &regs, 0, 0, NULL, NULL, TEXT + 7));
	CHECK(insn_reaches(&insn, &regs, 0, 0, NULL, NULL, TEXT + 2));
	CHECK(!insn_reaches(&insn, &regs, 0, 0, NULL, NULL, TEXT + 5));

	/* ERETU taken for clac: the CPU lands on the frame's RIP. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0xf2, 0x0f, 0x01, 0xca), 0);
	CHECK(!insn_reaches(&insn, &regs, 0, 0, NULL, NULL, 0x401000));

	put_u64(&mem, STACK, 0x401000);
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x48, 0xcf), 0);
	CHECK(insn_reaches(&insn, &regs, 0, 0, fake_read, &mem, 0x401000));
	CHECK(!insn_reaches(&insn, &regs, 0, 0, fake_read, &mem, TEXT + 2));
	/* An unreadable frame confirms nothing. */
	CHECK(!insn_reaches(&insn, &regs, 0, 0, NULL, NULL, 0x401000));

	/* Neither a syscall nor a stop can be judged from the decode. */
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x0f, 0x05), 0);
	CHECK(insn_reaches(&insn, &regs, 0, 0, NULL, NULL, 0x12345));
	CHECK_EQ_U64(DECODE(&insn, TEXT, 0x0f, 0x0b), 0);
	CHECK(insn_reaches(&insn, &regs, 0, 0, NULL, NULL, 0x12345));
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Whatever the bytes, a decode is either a sane instruction or "(bad)",
 * and successors never report more than they wrote. */
static void test_random_bytes(void)
{
	struct fake_mem mem = {.base = STACK};
	struct kvm_regs regs = {.rsp = STACK, .rax = STACK};
	uint64_t seed = 0x2545f4914f6cdd1dull, out[2];
	int iter, good = 1, rc, n, decoded = 0;
	uint8_t code[16];
	struct insn insn;
	size_t i, len;

	for (iter = 0; iter < 20000; iter++) {
		for (i = 0; i < sizeof(code); i++)
			code[i] = (uint8_t)xorshift(&seed);
		len = 1 + xorshift(&seed) % sizeof(code);
		rc = insn_decode(code, len, TEXT, &insn);
		if (rc == 0) {
			decoded++;
			good &= insn.len >= 1 && insn.len <= len &&
				insn.len <= 15 && insn.text[0] &&
				!memcmp(insn.bytes, code, insn.len);
		} else {
			good &= rc == -1 && insn.flow == FLOW_STOP &&
				!strcmp(insn.text, "(bad)");
		}
		n = successors(&insn, &regs, &mem, out);
		good &= n >= -1 && n <= 2;
		if (!good) {
			fprintf(stderr, "  random decode %d broke: %s\n", iter,
				insn.text);
			break;
		}
	}
	CHECK(good);
	CHECK(decoded > 10000);
}

int main(void)
{
	test_privileged_entry_insns();
	test_returns();
	test_direct_branches();
	test_indirect_branches();
	test_segment_operands();
	test_fall_through();
	test_stops();
	test_bad_decodes();
	test_capstone_4_quirks();
	test_reaches();
	test_random_bytes();
	return check_summary("test_disasm");
}
