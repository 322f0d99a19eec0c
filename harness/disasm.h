/* Capstone decode of guest instructions and where each one can go next.
 *
 * The stepper reaches instruction boundaries with breakpoints computed from
 * this decode instead of single-stepping with TF (TF leaks into frames, R11
 * and PUSHF on hardware KVM). insn_successors() therefore has to be exact for
 * every instruction entry code uses: fall-through, direct and indirect jumps
 * and calls, RET, IRETQ, SYSRET.
 *
 * Capstone 4.0.2 (Debian 12) mis-decodes a few newer instructions; the stepper
 * cross-checks each decoded length against the RIP the CPU really reaches
 * (insn_reaches).
 */
#ifndef IST_DISASM_H
#define IST_DISASM_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

enum insn_flow {
	FLOW_NEXT,    /* falls through to addr + len */
	FLOW_JMP,     /* unconditional jump (direct or indirect) */
	FLOW_JCC,     /* conditional: taken target or fall-through (also LOOP,
			 JRCXZ) */
	FLOW_CALL,    /* call (direct or indirect); returns to addr + len */
	FLOW_RET,     /* near return: target read from [rsp] */
	FLOW_IRET,    /* IRETQ: target read from [rsp] (RIP of the frame) */
	FLOW_SYSRET,  /* SYSRETQ: target is RCX, at CPL3 */
	FLOW_SYSCALL, /* SYSCALL: target is MSR_LSTAR (not known here) */
	FLOW_STOP,    /* HLT, UD2, INT3, INT n, or anything the decoder cannot
			 follow */
};

/* An operand the stepper must evaluate to find an indirect target. Register
 * numbers are indexes into struct kvm_regs in its field order: rax=0, rbx,
 * rcx, rdx, rsi, rdi, rsp, rbp, r8..r15 = 8..15; 16 = rip; -1 = none. */
struct insn_operand {
	enum { OPND_NONE, OPND_IMM, OPND_REG, OPND_MEM } kind;
	int64_t imm;	 /* OPND_IMM: the absolute target */
	int reg;	 /* OPND_REG */
	int base, index; /* OPND_MEM: register numbers as above or -1 */
	int scale;
	int64_t disp;
};

struct insn {
	uint64_t addr;
	uint8_t len;
	uint8_t bytes[16];
	char text[112]; /* "mnemonic op_str", e.g. "swapgs", "mov rsp, qword ptr
			   gs:[0x10]" */
	enum insn_flow flow;
	struct insn_operand target; /* for FLOW_JMP, FLOW_JCC, FLOW_CALL */
	/* The instruction touches a segment base through GS or FS (a gs: or fs:
	 * prefix on a memory operand). The stepper needs GS base to evaluate
	 * such an operand. */
	int seg_gs, seg_fs;
	/* MOV SS from memory: the operand it loads SS from (OPND_MEM), the
	 * access a data breakpoint can watch (CVE-2018-8897); else OPND_NONE.
	 */
	struct insn_operand ss_source;
};

/* Reads len bytes of guest memory at guest virtual address va; -1 if
 * unmapped. */
typedef int (*mem_reader)(void *ctx, uint64_t va, void *buf, size_t len);

/* Decodes one instruction from code (up to code_len bytes, as found at addr).
 * Returns 0, or -1 when Capstone cannot decode it (then insn->text says
 * "(bad)" and insn->flow is FLOW_STOP). */
int insn_decode(const uint8_t *code, size_t code_len, uint64_t addr,
		struct insn *insn);

/* Every address execution can reach next from insn, given the register file
 * at the boundary before it executes, the GS/FS bases for segment-relative
 * operands, and memory. Writes at most 2 addresses into out and returns how
 * many (0 for FLOW_STOP and FLOW_SYSCALL), or -1 when an operand could not
 * be read from memory. */
int insn_successors(const struct insn *insn, const struct kvm_regs *regs,
		    uint64_t gs_base, uint64_t fs_base, mem_reader read,
		    void *ctx, uint64_t out[2]);

/* For a MOV SS from memory: the address it reads, given the register file
 * at the boundary before it and the GS/FS bases. Returns -1 for any other
 * instruction. */
int insn_ss_source(const struct insn *insn, const struct kvm_regs *regs,
		   uint64_t gs_base, uint64_t fs_base, uint64_t *addr);

/* Cross-check of the decode: 1 when reached is one of insn's successors (or
 * insn is FLOW_SYSCALL/FLOW_STOP, which the decode cannot judge), else 0. */
int insn_reaches(const struct insn *insn, const struct kvm_regs *regs,
		 uint64_t gs_base, uint64_t fs_base, mem_reader read, void *ctx,
		 uint64_t reached);

#endif
