/* Traces by breakpoint stepping.
 *
 * Inside entry text the host arms a breakpoint on every address the current
 * instruction can reach next (insn_successors); a CALL out of entry text is
 * stepped over by breaking at its return address. Leaving entry text (SYSRET
 * to the workload, IRET to code outside), the host arms the entry points
 * instead and lets the guest run free until control comes back. Every hit
 * is checked against the decode (insn_reaches), and an instruction the
 * decode cannot follow stops the trace with an error naming it: a boundary
 * is never skipped silently.
 *
 * A breakpoint is never left armed on the instruction the vCPU stands on:
 * on kvm_pvm it would re-hit forever, and on hardware KVM it needs RF.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stepper.h"

#define GOLDEN_TIMEOUT_MS 5000
#define TRACE_MAX_EXITS	  200000
#define NESTED_TRACE_MAX  4096
#define NESTED_TIMEOUT_MS 2000

char *boundary_name(const struct guest_image *img, const struct boundary *b,
		    char *buf, size_t len)
{
	char name[160];

	image_format_addr(img, b->addr, name, sizeof(name));
	if (b->exec > 1)
		snprintf(buf, len, "%s #%u", name, b->exec);
	else
		snprintf(buf, len, "%s", name);
	return buf;
}

static struct boundary *add_boundary(struct trace *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 128;
		struct boundary *nb = realloc(t->b, cap * sizeof(*nb));
		if (!nb)
			return NULL;
		t->b = nb;
		t->cap = cap;
	}
	memset(&t->b[t->n], 0, sizeof(t->b[0]));
	return &t->b[t->n++];
}

void trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->n; i++)
		snapshot_free(&t->b[i].snap);
	if (t->has_start)
		snapshot_free(&t->start);
	free(t->b);
	memset(t, 0, sizeof(*t));
}

/* Where to break next from an instruction: its successors inside entry
 * text, a CALL that leaves entry text stepped over. Returns how many. */
static int next_breakpoints(const struct guest_layout *lay,
			    const struct insn *insn, const uint64_t *succ,
			    int nsucc, uint64_t *out)
{
	int n = 0;

	if (insn->flow == FLOW_CALL && nsucc == 2) {
		out[n++] =
			guest_in_entry_text(lay, succ[0]) ? succ[0] : succ[1];
		return n;
	}
	for (int i = 0; i < nsucc; i++)
		if (guest_in_entry_text(lay, succ[i]))
			out[n++] = succ[i];
	return n;
}

/* Why the guest stopped, in words; for a panic, the exception and where it
 * struck, from the guest's last log entry. */
static void describe_stop(struct vm *vm, const struct guest_image *img,
			  const struct guest_layout *lay,
			  const struct vm_exit *ex, uint64_t rip, char *buf,
			  size_t len)
{
	unsigned long long r = (unsigned long long)rip;
	const struct ist_log *log =
		(const void *)vm_mem(vm, lay->log_gpa, sizeof(struct ist_log));
	char at[160];

	if (ex->kind == VM_EXIT_IO && ex->port == IST_PORT_PANIC &&
	    log->count && log->count <= IST_LOG_MAX) {
		const struct ist_log_entry *e = &log->entries[log->count - 1];
		snprintf(buf, len,
			 "the guest kernel panicked on exception vector %u at "
			 "%s (error code 0x%llx)",
			 ex->value,
			 image_format_addr(img, e->regs.rip, at, sizeof(at)),
			 (unsigned long long)e->aux[0]);
	} else if (ex->kind == VM_EXIT_IO && ex->port == IST_PORT_PANIC)
		snprintf(buf, len, "the guest kernel panicked on vector %u",
			 ex->value);
	else if (ex->kind == VM_EXIT_IO && ex->port == IST_PORT_DONE)
		snprintf(buf, len, "the workload finished");
	else if (ex->kind == VM_EXIT_SHUTDOWN)
		snprintf(buf, len, "the guest triple-faulted (rip 0x%llx)", r);
	else if (ex->kind == VM_EXIT_TIMEOUT)
		snprintf(buf, len, "the guest hung (rip 0x%llx)", r);
	else if (ex->kind == VM_EXIT_HLT)
		snprintf(buf, len, "the guest halted (rip 0x%llx)", r);
	else if (ex->kind == VM_EXIT_IO)
		snprintf(buf, len, "an OUT to unknown port 0x%x at rip 0x%llx",
			 ex->port, r);
	else
		snprintf(buf, len, "unexpected exit at rip 0x%llx: %s", r,
			 ex->detail);
}

enum trace_end {
	TRACE_DONE,    /* the workload finished */
	TRACE_RESUMED, /* the stop boundary was reached and recorded */
	TRACE_STOPPED, /* the guest stopped otherwise; t->end says how */
	TRACE_ERROR,   /* the harness could not go on; err says why */
};

/* Where a nested trace ends: the interrupted code at (rip, rsp) again. */
struct trace_stop {
	int active;
	uint64_t rip, rsp;
	uint64_t any_rsp_rip; /* also resumed here, on any stack; 0: none */
};

struct recorder {
	struct vm *vm;
	/* trace_after: the event whose handler is traced, told when its
	 * delivery is done (injector.h, delivered). */
	const struct injector *injector;
	const struct injection *inj;
	const struct guest_image *img;
	const struct guest_layout *lay;
	struct trace *t;
	struct trace_stop stop;
	size_t max;
	unsigned *execs;
	/* A MOV SS from memory stepped over, and how many boundaries ago:
	 * its trap lands on the second boundary after it. */
	struct ss_watch ss_pending;
	int ss_age;
	/* trace_after: the RIP in the frame the event's delivery pushed, read
	 * at its gate (landed: it could be read). */
	uint64_t landed_rip;
	int landed;
	char *err;
	size_t errlen;
};

/* A harness error: what went wrong, and the last boundary reached. */
static enum trace_end error(struct recorder *r, const struct boundary *last,
			    const char *what)
{
	char where[200] = "";

	if (last) {
		boundary_name(r->img, last, where, sizeof(where));
		snprintf(where + strlen(where), sizeof(where) - strlen(where),
			 " (%s)", last->insn.text);
	}
	snprintf(r->err, r->errlen, "%s%s%s", what, where[0] ? ", after " : "",
		 where);
	return TRACE_ERROR;
}

/* Records one boundary at the vCPU's current RIP; returns it, or NULL. */
static struct boundary *record_boundary(struct recorder *r,
					const struct vcpu_state *st)
{
	struct boundary *b = add_boundary(r->t);
	uint8_t code[16];

	if (!b ||
	    vm_read_virt(r->vm, st->sregs.cr3, st->regs.rip, code,
			 sizeof(code)) ||
	    snapshot_take(r->vm, r->lay, &b->snap))
		return NULL;
	b->addr = st->regs.rip;
	b->exec = ++r->execs[guest_traced_index(r->lay, b->addr)];
	insn_decode(code, sizeof(code), b->addr, &b->insn);
	return b;
}

/* The instruction that ends right at `end` in the image, decoded linearly
 * from the start of the symbol that holds it (code that is only code, as
 * the workload is). -1 when the decode does not land on `end`. */
static int insn_before(const struct guest_image *img, uint64_t end,
		       struct insn *out)
{
	const struct guest_symbol *sym = image_symbol_at(img, end - 1);
	uint64_t at = sym ? sym->addr : end;

	while (at < end) {
		uint8_t code[16];
		size_t n = end - at < sizeof(code) ? end - at : sizeof(code);

		if (image_read(img, at, code, n) ||
		    insn_decode(code, n, at, out) || out->len == 0)
			return -1;
		at += out->len;
	}
	return at == end && sym ? 0 : -1;
}

/* The SYSCALL entry reached from ring 3: was the SYSCALL (at RCX - 2) in
 * the shadow of a MOV SS from memory? Its operand comes from the user's
 * registers, still live here but for RCX and R11, which SYSCALL took. */
static struct ss_watch ss_watch_across_syscall(const struct recorder *r,
					       const struct vcpu_state *st)
{
	struct ss_watch w = {0, 0, NULL, -2};
	const struct insn_operand *o;
	uint8_t op[2];
	struct insn mov;

	if (st->regs.rip != r->lay->entry_syscall || st->regs.rcx < 2 ||
	    image_read(r->img, st->regs.rcx - 2, op, 2) || op[0] != 0x0f ||
	    op[1] != 0x05 || insn_before(r->img, st->regs.rcx - 2, &mov))
		return w;
	o = &mov.ss_source;
	if (o->base == 2 || o->base == 11 || o->index == 2 || o->index == 11 ||
	    insn_ss_source(&mov, &st->regs, st->sregs.gs.base,
			   st->sregs.fs.base, &w.addr))
		return (struct ss_watch){0, 0, NULL, -2};
	w.from = mov.addr;
	/* The boundary this one is about to become is t->n - 1; the one
	 * before it ran last before user mode. */
	w.arm_at = (long)r->t->n - 2;
	if (w.arm_at < 0 && !r->t->has_start)
		w.arm_at = -2;
	return w;
}

/* Keeps count of a MOV SS from memory stepped over inside entry text, and
 * names it on the boundary its held trap lands on. A run outside entry
 * text in between loses it: the trap landed out there. */
static void note_ss_watch(struct recorder *r, struct boundary *b,
			  const struct vcpu_state *st, int stepped)
{
	if (!stepped) {
		r->ss_age = 0;
		b->ss_watch = ss_watch_across_syscall(r, st);
	} else if (r->ss_age && ++r->ss_age == 3) {
		b->ss_watch = r->ss_pending;
		r->ss_age = 0;
	}
	if (insn_ss_source(&b->insn, &st->regs, st->sregs.gs.base,
			   st->sregs.fs.base, &r->ss_pending.addr) == 0) {
		r->ss_pending.from = b->addr;
		r->ss_pending.arm_at = (long)r->t->n - 1;
		r->ss_age = 1;
	}
}

/* Once the trace is whole (its array no longer moves): arm_at to arm. */
static void resolve_arm_points(struct trace *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct ss_watch *w = &t->b[i].ss_watch;

		w->arm = !w->from || w->arm_at < -1 ? NULL
			 : w->arm_at == -1	    ? &t->start
						    : &t->b[w->arm_at].snap;
	}
}

int boundary_start(struct vm *vm, const struct guest_layout *lay,
		   const struct boundary *at, const struct injection *inj)
{
	const struct injector *injector = injector_for(inj->kind);
	const struct snapshot *from = &at->snap;

	if (inj->kind == EVENT_DB && inj->db_cause == DB_DATA_BREAKPOINT &&
	    inj->db_arm_watch) {
		if (!at->ss_watch.arm)
			return -1;
		from = at->ss_watch.arm;
	}
	return !injector || vm_set_breakpoints(vm, NULL, 0) ||
			       snapshot_restore(vm, lay, from) ||
			       injector->inject(vm, inj, &from->state)
		       ? -1
		       : 0;
}

static int is_entry_point(const struct guest_layout *lay, uint64_t rip)
{
	for (int i = 0; i < lay->nentry_points; i++)
		if (lay->entry_points[i] == rip)
			return 1;
	return 0;
}

/* Does the IRETQ at st return to where the trace stops (its frame's RIP
 * and RSP)? Then the trace ends there: resumed, after this boundary. */
static int iret_resumes(struct recorder *r, const struct vcpu_state *st,
			struct vm_reader *rd)
{
	uint64_t frame[5];

	if (!r->stop.active ||
	    vm_reader_read(rd, st->regs.rsp, frame, sizeof(frame)))
		return 0;
	if (!((frame[0] == r->stop.rip && frame[3] == r->stop.rsp) ||
	      (r->stop.any_rsp_rip && frame[0] == r->stop.any_rsp_rip)))
		return 0;
	r->t->resumed = r->t->n;
	snprintf(r->t->end, sizeof(r->t->end),
		 "the interrupted code resumed (by an IRETQ at its own "
		 "address)");
	return 1;
}

/* Steps from the vCPU's current state until the trace ends. */
static enum trace_end record(struct recorder *r, unsigned timeout_ms)
{
	const struct guest_layout *lay = r->lay;
	struct boundary *last = NULL;
	struct vcpu_state st, last_st;
	uint64_t bps[4];
	int nbps = lay->nentry_points, stepping = 0;

	memcpy(bps, lay->entry_points, sizeof(bps));
	/* After an injection the first boundary is the event's gate, which
	 * need not be an entry point (the maskable interrupt's is not). */
	if (r->injector) {
		uint64_t gate = guest_gate(lay, r->injector->vector);

		if (guest_in_entry_text(lay, gate) &&
		    !is_entry_point(lay, gate)) {
			memmove(bps + 1, bps, sizeof(bps) - sizeof(bps[0]));
			bps[0] = gate;
			nbps = nbps < 4 ? nbps + 1 : 4;
		}
	}
	for (int exits = 0; exits < TRACE_MAX_EXITS; exits++) {
		struct vm_reader rd = {r->vm, 0};
		struct vm_exit ex;
		uint64_t succ[2];
		int nsucc;

		if (vm_set_breakpoints(r->vm, bps, nbps) ||
		    vm_run(r->vm, timeout_ms, &ex))
			return error(r, last,
				     "the back end (KVM or QEMU) failed while "
				     "stepping");
		/* Registers are all a step needs; the boundary's snapshot
		 * reads the rest. */
		memset(&st, 0, sizeof(st));
		vm_get_regs(r->vm, &st.regs, &st.sregs);
		if (ex.kind != VM_EXIT_BREAKPOINT) {
			describe_stop(r->vm, r->img, lay, &ex, st.regs.rip,
				      r->t->end, sizeof(r->t->end));
			if (ex.kind == VM_EXIT_IO && ex.port == IST_PORT_DONE &&
			    stepping)
				return error(
					r, last,
					"the workload finished while a "
					"breakpoint waited on the next "
					"instruction: the decode of the last "
					"boundary is wrong");
			return ex.kind == VM_EXIT_IO && ex.port == IST_PORT_DONE
				       ? TRACE_DONE
				       : TRACE_STOPPED;
		}
		if (!guest_in_entry_text(lay, st.regs.rip))
			return error(r, last,
				     "a breakpoint stopped outside entry text");
		rd.cr3 = st.sregs.cr3;
		if (last && last->insn.flow != FLOW_SYSRET &&
		    !is_entry_point(lay, st.regs.rip) &&
		    !insn_reaches(&last->insn, &last_st.regs,
				  last_st.sregs.gs.base, last_st.sregs.fs.base,
				  vm_reader_read, &rd, st.regs.rip))
			return error(r, last,
				     "the CPU went where the decode of the "
				     "last boundary says it cannot");
		if (r->t->n >= r->max)
			return error(r, last,
				     "more boundaries than a trace may hold");
		if (r->t->n == 0 && r->injector &&
		    st.regs.rip == guest_gate(lay, r->injector->vector)) {
			/* The frame the CPU pushed, read now: the handler
			 * may rewrite it (an upcall does). */
			r->landed =
				vm_read_virt(r->vm, st.sregs.cr3, st.regs.rsp,
					     &r->landed_rip, 8) == 0;
			if (r->injector->delivered &&
			    r->injector->delivered(r->vm, r->inj))
				return error(r, last,
					     "the back end refused to finish "
					     "the event's delivery");
		}
		last = record_boundary(r, &st);
		if (!last)
			return error(r, NULL, "cannot record a boundary");
		/* At a gate, the frame the CPU pushed, as it is now. */
		for (int v = 0; v < 4; v++) {
			static const uint64_t vectors[] = {
				IST_VEC_NMI, IST_VEC_DB, IST_VEC_MC,
				IST_VEC_IRQ};
			if (st.regs.rip == guest_gate(lay, vectors[v]) &&
			    vm_read_virt(r->vm, st.sregs.cr3, st.regs.rsp,
					 last->frame, sizeof(last->frame)) == 0)
				last->frame_vector = vectors[v];
		}
		note_ss_watch(r, last, &st, stepping);
		last_st = st;
		if (r->stop.active && ((st.regs.rip == r->stop.rip &&
					st.regs.rsp == r->stop.rsp) ||
				       (r->stop.any_rsp_rip &&
					st.regs.rip == r->stop.any_rsp_rip))) {
			r->t->resumed = r->t->n - 1;
			snprintf(r->t->end, sizeof(r->t->end),
				 "the interrupted code resumed");
			return TRACE_RESUMED;
		}

		if (last->insn.flow == FLOW_STOP || last->insn.len == 0)
			return error(r, last,
				     "the decode cannot follow this "
				     "instruction (Capstone 4.0.2 does not "
				     "know every newer one)");
		nsucc = insn_successors(&last->insn, &st.regs, st.sregs.gs.base,
					st.sregs.fs.base, vm_reader_read, &rd,
					succ);
		if (nsucc < 0)
			return error(r, last,
				     "cannot read the memory operand that "
				     "decides where the instruction goes");
		nbps = next_breakpoints(lay, &last->insn, succ, nsucc, bps);
		for (int i = 0; i < nbps; i++) {
			if (bps[i] != st.regs.rip)
				continue;
			/* An IRETQ to its own address, onto the code this
			 * trace waits for (a handler nested in another
			 * handler's exit, sharing its IRETQ): that code
			 * resumes right after it. Its boundary there is the
			 * outer trace's own, and is not recorded again. */
			if (last->insn.flow == FLOW_IRET &&
			    iret_resumes(r, &st, &rd))
				return TRACE_RESUMED;
			return error(r, last,
				     "an instruction that jumps to itself "
				     "cannot be stepped by breakpoints");
		}
		stepping = nbps > 0;
		if (!stepping) {
			memcpy(bps, lay->entry_points, sizeof(bps));
			nbps = lay->nentry_points;
		}
	}
	return error(r, last, "no end within the exit budget");
}

static int recorder_init(struct recorder *r, struct vm *vm,
			 const struct guest_image *img,
			 const struct guest_layout *lay, struct trace *t,
			 char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	memset(t, 0, sizeof(*t));
	r->vm = vm;
	r->img = img;
	r->lay = lay;
	r->t = t;
	r->err = err;
	r->errlen = errlen;
	r->max = NESTED_TRACE_MAX * 16;
	r->execs = calloc(guest_traced_size(lay), sizeof(unsigned));
	return r->execs ? 0 : -1;
}

/* The golden run's start snapshot, at enter_user (trace->start). */
static int stop_at_start(struct vm *vm, const struct guest_image *img,
			 const struct guest_layout *lay, struct trace *t)
{
	struct vm_exit ex;
	struct vcpu_state st;
	uint64_t at;

	if (image_symbol_addr(img, "enter_user", &at) ||
	    vm_set_breakpoints(vm, &at, 1) ||
	    vm_run(vm, GOLDEN_TIMEOUT_MS, &ex) || ex.kind != VM_EXIT_BREAKPOINT)
		return -1;
	vm_get_state(vm, &st);
	if (st.regs.rip != at || snapshot_take(vm, lay, &t->start))
		return -1;
	t->has_start = 1;
	return vm_set_breakpoints(vm, NULL, 0);
}

int golden_run(struct vm *vm, const struct guest_image *img,
	       const struct guest_layout *lay, uint64_t seed, struct golden *g,
	       char *err, size_t errlen)
{
	struct recorder r;
	enum trace_end end;
	char why[400];

	memset(g, 0, sizeof(*g));
	g->seed = seed;
	if (recorder_init(&r, vm, img, lay, &g->trace, why, sizeof(why)) ||
	    observation_init(&g->final, lay) ||
	    guest_boot(vm, img, lay, seed)) {
		snprintf(err, errlen, "%s: cannot start the guest", img->path);
		free(r.execs);
		return -1;
	}
	if (stop_at_start(vm, img, lay, &g->trace)) {
		snprintf(err, errlen,
			 "%s: golden run: the guest never reached enter_user",
			 img->path);
		free(r.execs);
		golden_free(g);
		return -1;
	}
	end = record(&r, GOLDEN_TIMEOUT_MS);
	free(r.execs);
	vm_set_breakpoints(vm, NULL, 0);
	resolve_arm_points(&g->trace);
	if (end == TRACE_DONE) {
		observe(vm, lay, RUN_DONE, 0, NULL, &g->final);
		g->trace.resumed = g->trace.n;
		return 0;
	}
	snprintf(err, errlen, "%s: golden run (no injection): %s", img->path,
		 end == TRACE_ERROR ? why : g->trace.end);
	golden_free(g);
	return -1;
}

void golden_free(struct golden *g)
{
	trace_free(&g->trace);
	observation_free(&g->final);
}

/* trace_after, or (to_end) on to the workload's end. */
static int trace_from(struct vm *vm, const struct guest_image *img,
		      const struct guest_layout *lay, const struct boundary *at,
		      const struct injection *inj, uint64_t resume_rip,
		      int to_end, struct trace *out, char *err, size_t errlen)
{
	const struct injector *injector = injector_for(inj->kind);
	struct recorder r;
	enum trace_end end;
	uint64_t frame_rip;

	if (recorder_init(&r, vm, img, lay, out, err, errlen))
		return -1;
	r.max = to_end ? NESTED_TRACE_MAX * 16 : NESTED_TRACE_MAX;
	r.injector = injector;
	r.inj = inj;
	r.stop.active = !to_end;
	r.stop.rip = at->addr;
	r.stop.rsp = at->snap.state.regs.rsp;
	r.stop.any_rsp_rip = resume_rip;
	if (boundary_start(vm, lay, at, inj)) {
		snprintf(err, errlen,
			 "the back end refused to restore a snapshot or "
			 "to inject");
		free(r.execs);
		return -1;
	}
	end = record(&r, to_end ? GOLDEN_TIMEOUT_MS : NESTED_TIMEOUT_MS);
	free(r.execs);
	vm_set_breakpoints(vm, NULL, 0);
	resolve_arm_points(out);
	if (end == TRACE_ERROR)
		return -1;
	if (end != TRACE_RESUMED)
		out->resumed = out->n;
	/* The event must have landed where the model said: the first boundary
	 * is its gate, and the frame the CPU pushed names `at`. */
	frame_rip = r.landed_rip;
	if (r.landed && frame_rip != at->addr) {
		char want[160], got[160];
		snprintf(err, errlen,
			 "the %s was delivered at %s, not at %s where the "
			 "model says it lands",
			 injector->name,
			 image_format_addr(img, frame_rip, got, sizeof(got)),
			 image_format_addr(img, at->addr, want, sizeof(want)));
		trace_free(out);
		return -1;
	}
	return 0;
}

int trace_after(struct vm *vm, const struct guest_image *img,
		const struct guest_layout *lay, const struct boundary *at,
		const struct injection *inj, uint64_t resume_rip,
		struct trace *out, char *err, size_t errlen)
{
	return trace_from(vm, img, lay, at, inj, resume_rip, 0, out, err,
			  errlen);
}

int trace_to_end(struct vm *vm, const struct guest_image *img,
		 const struct guest_layout *lay, const struct boundary *at,
		 const struct injection *inj, struct trace *out, char *err,
		 size_t errlen)
{
	return trace_from(vm, img, lay, at, inj, 0, 1, out, err, errlen);
}
