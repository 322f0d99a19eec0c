#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "window.h"
#include "xalloc.h"

enum stack_kind {
	STACK_USER,
	STACK_KERNEL,
	STACK_IST,
	STACK_BODY,
	STACK_OTHER, /* named by the guest symbol it lies in */
};

struct window_class {
	int cpl;
	int kernel_gs;
	enum stack_kind stack;
	char stack_name[40];
	int kernel_cr3;
	int nmi_blocked;
	int shadow; /* KVM_X86_SHADOW_INT_* */
	int irq_on;
};

static const char *const ist_names[IST_STACK_COUNT + 1] = {
	[IST_INDEX_DF] = "df",
	[IST_INDEX_NMI] = "nmi",
	[IST_INDEX_DB] = "db",
	[IST_INDEX_MC] = "mc"};

/* Where RSP points. A stack pointer at the top of a stack (empty) lies
 * just past it: the byte below it is what says which stack. */
static void classify_stack(const struct guest_image *img,
			   const struct guest_layout *lay, uint64_t rsp,
			   struct window_class *c)
{
	const struct guest_symbol *sym;
	uint64_t below = rsp - 1, lo, hi;

	if (rsp <= IST_KERNEL_VMA) {
		c->stack = STACK_USER;
		snprintf(c->stack_name, sizeof(c->stack_name), "user");
		return;
	}
	for (int i = 1; i <= IST_STACK_COUNT; i++) {
		guest_ist_stack_range(lay, i, &lo, &hi);
		if (below >= lo && below < hi) {
			c->stack = STACK_IST;
			snprintf(c->stack_name, sizeof(c->stack_name), "ist:%s",
				 ist_names[i]);
			return;
		}
	}
	if (below >= lay->body_stack[0] && below < lay->body_stack[1]) {
		c->stack = STACK_BODY;
		snprintf(c->stack_name, sizeof(c->stack_name), "body");
		return;
	}
	sym = image_symbol_at(img, below);
	if (sym && strcmp(sym->name, "kernel_stack") == 0) {
		c->stack = STACK_KERNEL;
		snprintf(c->stack_name, sizeof(c->stack_name), "kstack");
		return;
	}
	c->stack = STACK_OTHER;
	snprintf(c->stack_name, sizeof(c->stack_name), "%s",
		 sym ? sym->name : "?");
}

static void classify(const struct guest_image *img,
		     const struct guest_layout *lay, const struct vcpu_state *s,
		     struct window_class *c)
{
	memset(c, 0, sizeof(*c));
	c->cpl = s->sregs.cs.selector & 3;
	/* The kernel's GS base lies in the higher half (ist_abi.h): a
	 * paranoid entry tells them apart the same way. */
	c->kernel_gs = s->sregs.gs.base >= IST_KERNEL_VMA;
	classify_stack(img, lay, s->regs.rsp, c);
	c->kernel_cr3 =
		(s->sregs.cr3 & ~0xfffULL) == (lay->boot_cr3 & ~0xfffULL);
	c->nmi_blocked = s->events.nmi.masked;
	c->shadow = s->events.interrupt.shadow;
	c->irq_on = !!(s->regs.rflags & RFLAGS_IF);
}

static int same_class(const struct window_class *a,
		      const struct window_class *b)
{
	return a->cpl == b->cpl && a->kernel_gs == b->kernel_gs &&
	       a->stack == b->stack &&
	       strcmp(a->stack_name, b->stack_name) == 0 &&
	       a->kernel_cr3 == b->kernel_cr3 &&
	       a->nmi_blocked == b->nmi_blocked && a->shadow == b->shadow &&
	       a->irq_on == b->irq_on;
}

/* The stack a kernel runs its bodies on: what an entry moves to. */
static int on_main_stack(const struct window_class *c)
{
	return c->cpl == 0 &&
	       (c->stack == STACK_KERNEL || c->stack == STACK_BODY);
}

static void format_label(const char *name, const struct window_class *c,
			 char *out)
{
	int n = snprintf(out, WINDOW_LABEL_MAX, "%s [cpl%d gs=%s rsp=%s", name,
			 c->cpl, c->kernel_gs ? "kernel" : "user",
			 c->stack_name);

#define ADD(...)                                                               \
	do {                                                                   \
		if (n >= 0 && n < WINDOW_LABEL_MAX)                            \
			n += snprintf(out + n, WINDOW_LABEL_MAX - n,           \
				      __VA_ARGS__);                            \
	} while (0)
	if (!c->kernel_cr3)
		ADD(" cr3=user");
	if (c->nmi_blocked)
		ADD(" nmi-blocked");
	if (c->shadow & KVM_X86_SHADOW_INT_MOV_SS)
		ADD(" shadow=movss");
	if (c->shadow & KVM_X86_SHADOW_INT_STI)
		ADD(" shadow=sti");
	if (c->cpl == 0 && c->irq_on)
		ADD(" if=1");
	ADD("]");
#undef ADD
}

/* Does execution jump into entry text at b[i] from outside it: through an
 * entry point, or after SYSRET or SYSCALL? Untraced user code lies in
 * between: the same class on both sides is still two windows. */
static int discontinuity(const struct guest_layout *lay, const struct trace *t,
			 size_t i)
{
	enum insn_flow prev = t->b[i - 1].insn.flow;

	for (int k = 0; k < lay->nentry_points; k++)
		if (t->b[i].addr == lay->entry_points[k])
			return 1;
	return prev == FLOW_SYSRET || prev == FLOW_SYSCALL;
}

/* The user's stack at CPL0 is the SYSCALL gap on the way in and the exit
 * window on the way out: which, execution says, forward first (the run
 * goes on to the kernel's stack: in; to SYSRET or IRET: out), else
 * backward (it came from the kernel's stack: out; from the SYSCALL entry:
 * in). A trace after an event ends soon after the interrupted code
 * resumes; there the window it was interrupted in says (hint). */
static const char *user_stack_name(const struct guest_layout *lay,
				   const struct trace *t,
				   const struct window_class *cls, size_t from,
				   size_t handler_end, const char *hint)
{
	if (from == 0 && t->b[0].frame_vector)
		return "handler-on-user-stack";
	for (size_t i = from; i < t->n; i++) {
		if (i > from && (i == handler_end || discontinuity(lay, t, i)))
			break;
		if (on_main_stack(&cls[i]))
			return "syscall-gap";
		if (cls[i].cpl != 0 || cls[i].stack != STACK_USER)
			break;
		if (t->b[i].insn.flow == FLOW_SYSRET ||
		    t->b[i].insn.flow == FLOW_IRET)
			return "exit-window";
	}
	for (size_t i = from + 1; i-- > 0;) {
		if (i == handler_end && handler_end < t->n)
			return hint && !strncmp(hint, "exit-window", 11)
				       ? "exit-window"
				       : "syscall-gap";
		if (t->b[i].addr == lay->entry_syscall || i == 0)
			return "syscall-gap";
		if (on_main_stack(&cls[i - 1]))
			return "exit-window";
		if (discontinuity(lay, t, i))
			return "syscall-gap";
	}
	return "syscall-gap";
}

/* Names a run of boundaries starting at `from` (cls[i] is t->b[i]'s
 * class). An IST stack is the prologue before the handler first moves to
 * its main stack, the epilogue after it last left it, the whole handler
 * when it never does. */
static const char *run_name(const struct guest_layout *lay,
			    const struct trace *t,
			    const struct window_class *cls, size_t from,
			    size_t handler_end, const char *hint)
{
	const struct window_class *k = &cls[from];

	if (k->cpl == 3)
		return "user";
	switch (k->stack) {
	case STACK_USER:
		return user_stack_name(lay, t, cls, from, handler_end, hint);
	case STACK_IST: {
		int main_before = 0, main_after = 0;

		for (size_t i = 0; i < handler_end; i++) {
			if (!on_main_stack(&cls[i]))
				continue;
			if (i < from)
				main_before = 1;
			else
				main_after = 1;
		}
		if (from >= handler_end)
			return "ist-handler";
		return main_after    ? "ist-prologue"
		       : main_before ? "ist-epilogue"
				     : "ist-handler";
	}
	case STACK_BODY:
		return "after-commit";
	case STACK_KERNEL:
		return k->kernel_gs ? "kernel" : "kernel-stack-user-gs";
	case STACK_OTHER:
		break;
	}
	return NULL;
}

void window_label_trace(const struct guest_image *img,
			const struct guest_layout *lay, const struct trace *t,
			const char *resumed_in, char (*out)[WINDOW_LABEL_MAX])
{
	size_t handler_end = t->resumed < t->n ? t->resumed : t->n;
	struct window_class *cls = xcalloc(t->n, sizeof(*cls));

	for (size_t i = 0; i < t->n; i++)
		classify(img, lay, &t->b[i].snap.state, &cls[i]);
	for (size_t from = 0, to; from < t->n; from = to) {
		const char *known;
		char name[64];

		for (to = from + 1;
		     to < t->n && same_class(&cls[from], &cls[to]) &&
		     to != handler_end && !discontinuity(lay, t, to);)
			to++;
		known = run_name(lay, t, cls, from, handler_end, resumed_in);
		if (known)
			snprintf(name, sizeof(name), "%s", known);
		else
			snprintf(name, sizeof(name), "stack:%s",
				 cls[from].stack_name);
		for (size_t i = from; i < to; i++)
			format_label(name, &cls[from], out[i]);
	}
	free(cls);
}

void window_name(const char *label, char *out, size_t len)
{
	const char *end = strstr(label, " [");

	snprintf(out, len, "%.*s",
		 end ? (int)(end - label) : (int)strlen(label), label);
}
