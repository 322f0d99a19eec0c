#include <inttypes.h>

#include "text_escape.h"
#include "trial_trace.h"

static const char *gpr_names[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi",
				  "rsp", "rbp", "r8",  "r9",  "r10", "r11",
				  "r12", "r13", "r14", "r15"};

static void changed_registers(FILE *f, const struct kvm_regs *a,
			      const struct kvm_regs *b)
{
	/* struct kvm_regs begins with the 16 GPRs in this order. */
	const __u64 *x = &a->rax, *y = &b->rax;

	for (int i = 0; i < 16; i++)
		if (x[i] != y[i])
			fprintf(f, " %s=0x%llx", gpr_names[i],
				(unsigned long long)y[i]);
	if (a->rflags != b->rflags)
		fprintf(f, " rflags=0x%" PRIx64, (uint64_t)b->rflags);
}

/* Which stack an address is on, in words. */
static const char *stack_of(const struct guest_layout *lay, uint64_t rsp,
			    char *buf, size_t len)
{
	for (int i = 1; i <= IST_STACK_COUNT; i++) {
		uint64_t lo, hi;

		guest_ist_stack_range(lay, i, &lo, &hi);
		if (rsp >= lo && rsp <= hi) {
			snprintf(buf, len, "IST stack %d", i);
			return buf;
		}
	}
	snprintf(buf, len, "%s",
		 rsp >= 0xffff800000000000ULL ? "a kernel stack"
					      : "the user's stack");
	return buf;
}

static const char *vector_name(uint64_t v)
{
	switch (v) {
	case IST_VEC_NMI:
		return "NMI";
	case IST_VEC_DB:
		return "#DB";
	case IST_VEC_MC:
		return "#MC";
	case IST_VEC_IRQ:
		return "interrupt";
	}
	return "event";
}

void trial_trace_print(FILE *f, const struct guest_image *img,
		       const struct guest_layout *lay, const struct trace *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct boundary *b = &t->b[i];
		const struct boundary *p = i ? &t->b[i - 1] : NULL;
		const struct vcpu_state *st = &b->snap.state;
		char name[200], at[160], where[64];

		if (p && p->insn.flow == FLOW_IRET)
			fprintf(f, "      << IRETQ to %s\n",
				image_format_addr(img, b->addr, at,
						  sizeof(at)));
		if (b->frame_vector &&
		    (!p || p->insn.flow != FLOW_JMP || i == 0)) {
			fprintf(f,
				"      >> %s delivered: frame RIP %s CS "
				"0x%" PRIx64 " RFLAGS 0x%" PRIx64
				" RSP 0x%" PRIx64 " SS 0x%" PRIx64
				", on %s at 0x%" PRIx64 "\n",
				vector_name(b->frame_vector),
				image_format_addr(img, b->frame[0], at,
						  sizeof(at)),
				b->frame[1], b->frame[2], b->frame[3],
				b->frame[4],
				stack_of(lay, st->regs.rsp, where,
					 sizeof(where)),
				(uint64_t)st->regs.rsp);
		}
		if (p &&
		    p->snap.state.events.nmi.masked != st->events.nmi.masked)
			fprintf(f, "      NMI blocking %d -> %d\n",
				p->snap.state.events.nmi.masked,
				st->events.nmi.masked);
		boundary_name(img, b, name, sizeof(name));
		fprintf(f, "  %-36s %-40s", name, b->insn.text);
		/* What this instruction changed, where the next boundary is
		 * the one it went on to (not a delivery, nor a run outside
		 * traced code). */
		if (i + 1 < t->n && !t->b[i + 1].frame_vector &&
		    b->insn.flow != FLOW_SYSRET && b->insn.flow != FLOW_IRET)
			changed_registers(f, &st->regs,
					  &t->b[i + 1].snap.state.regs);
		fprintf(f, "\n");
	}
	fprintf(f, "  end: %s\n", t->end[0] ? t->end : "the workload finished");
}

static void json_changed(FILE *f, const struct kvm_regs *a,
			 const struct kvm_regs *b)
{
	const __u64 *x = &a->rax, *y = &b->rax;
	int first = 1;

	fprintf(f, "{");
	for (int i = 0; i < 16; i++)
		if (x[i] != y[i]) {
			fprintf(f, "%s\"%s\":\"0x%llx\"", first ? "" : ",",
				gpr_names[i], (unsigned long long)y[i]);
			first = 0;
		}
	if (a->rflags != b->rflags)
		fprintf(f, "%s\"rflags\":\"0x%llx\"", first ? "" : ",",
			(unsigned long long)b->rflags);
	fprintf(f, "}");
}

void trial_trace_json(FILE *f, const struct guest_image *img,
		      const struct guest_layout *lay, const struct trace *t)
{
	fprintf(f, "{\"boundaries\":[");
	for (size_t i = 0; i < t->n; i++) {
		const struct boundary *b = &t->b[i];
		const struct boundary *p = i ? &t->b[i - 1] : NULL;
		const struct vcpu_state *st = &b->snap.state;
		char at[160], where[64];

		fprintf(f, "%s{\"at\":", i ? "," : "");
		json_string(f, image_format_addr(img, b->addr, at, sizeof(at)));
		fprintf(f, ",\"exec\":%u,\"insn\":", b->exec);
		json_string(f, b->insn.text);
		fprintf(f, ",\"nmi_blocked\":%d", st->events.nmi.masked);
		if (p && p->insn.flow == FLOW_IRET)
			fprintf(f, ",\"after_iretq\":true");
		if (b->frame_vector) {
			fprintf(f, ",\"delivery\":{\"event\":");
			json_string(f, vector_name(b->frame_vector));
			fprintf(f, ",\"frame\":{\"rip\":");
			json_string(f, image_format_addr(img, b->frame[0], at,
							 sizeof(at)));
			fprintf(f,
				",\"cs\":\"0x%llx\",\"rflags\":\"0x%llx\","
				"\"rsp\":\"0x%llx\",\"ss\":\"0x%llx\"},"
				"\"stack\":",
				(unsigned long long)b->frame[1],
				(unsigned long long)b->frame[2],
				(unsigned long long)b->frame[3],
				(unsigned long long)b->frame[4]);
			json_string(f, stack_of(lay, st->regs.rsp, where,
						sizeof(where)));
			fprintf(f, ",\"at_rsp\":\"0x%llx\"}",
				(unsigned long long)st->regs.rsp);
		}
		if (i + 1 < t->n && !t->b[i + 1].frame_vector &&
		    b->insn.flow != FLOW_SYSRET && b->insn.flow != FLOW_IRET) {
			fprintf(f, ",\"changed\":");
			json_changed(f, &st->regs,
				     &t->b[i + 1].snap.state.regs);
		}
		fprintf(f, "}");
	}
	fprintf(f, "],\"end\":");
	json_string(f, t->end[0] ? t->end : "the workload finished");
	fprintf(f, "}");
}
