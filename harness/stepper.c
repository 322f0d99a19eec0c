/* Golden run by breakpoint stepping.
 *
 * Inside entry text the host arms a breakpoint on every address the current
 * instruction can reach next (insn_successors); a CALL out of entry text is
 * stepped over by breaking at its return address. Leaving entry text (SYSRET
 * to the workload), the host arms the entry points instead and lets the
 * guest run free until control comes back. The reached RIP is checked
 * against the decode every time, so a Capstone mis-decode is caught at the
 * instruction that caused it.
 *
 * A breakpoint is never left armed on the instruction the vCPU stands on:
 * on kvm_pvm it would re-hit forever, and on hardware KVM it needs RF.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stepper.h"

#define GOLDEN_TIMEOUT_MS 5000
#define GOLDEN_MAX_EXITS  200000

struct reader_ctx {
	struct vm *vm;
	uint64_t cr3;
};

static int read_guest(void *ctx, uint64_t va, void *buf, size_t len)
{
	struct reader_ctx *r = ctx;
	return vm_read_virt(r->vm, r->cr3, va, buf, len);
}

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

static struct boundary *add_boundary(struct golden *g)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 128;
		struct boundary *nb = realloc(g->b, cap * sizeof(*nb));
		if (!nb)
			return NULL;
		g->b = nb;
		g->cap = cap;
	}
	memset(&g->b[g->n], 0, sizeof(g->b[0]));
	return &g->b[g->n++];
}

/* Where to break next from boundary b: its successors inside entry text,
 * a CALL that leaves entry text stepped over. Returns how many. */
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

/* Why the golden run stopped, in words; for a panic, the exception and
 * where it struck, from the guest's last log entry. */
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

static int fail(char *err, size_t errlen, const char *stub, const char *what,
		const char *where)
{
	snprintf(err, errlen, "%s: golden run (no injection): %s%s%s", stub,
		 what, where[0] ? " after " : "", where);
	return -1;
}

int golden_run(struct vm *vm, const struct guest_image *img,
	       const struct guest_layout *lay, uint64_t seed, struct golden *g,
	       char *err, size_t errlen)
{
	uint64_t span = lay->entry_text_end - lay->entry_text_start;
	unsigned *execs = calloc(span, sizeof(*execs));
	uint64_t bps[4];
	int nbps, stepping = 0;
	char where[200] = "", what[300];
	int rc = -1;

	memset(g, 0, sizeof(*g));
	g->seed = seed;
	if (!execs || observation_init(&g->final, lay) ||
	    guest_boot(vm, img, lay, seed)) {
		snprintf(err, errlen, "%s: cannot start the guest", img->path);
		goto out;
	}
	memcpy(bps, lay->entry_points, sizeof(bps));
	nbps = lay->nentry_points;

	for (int exits = 0; exits < GOLDEN_MAX_EXITS; exits++) {
		struct reader_ctx rd = {vm, 0};
		struct vcpu_state st;
		struct boundary *b;
		struct vm_exit ex;
		uint64_t succ[2], rip;
		uint8_t code[16];
		int nsucc;

		if (vm_set_breakpoints(vm, bps, nbps) ||
		    vm_run(vm, GOLDEN_TIMEOUT_MS, &ex)) {
			snprintf(err, errlen,
				 "%s: KVM failed during the golden run: %s",
				 img->path, ex.detail);
			goto out;
		}
		if (ex.kind == VM_EXIT_IO && ex.port == IST_PORT_DONE) {
			if (stepping) {
				snprintf(what, sizeof(what),
					 "the workload finished while a "
					 "breakpoint "
					 "waited on the next instruction; the "
					 "decode "
					 "of the last boundary is wrong "
					 "(Capstone "
					 "4.0.2 mis-decodes some newer "
					 "instructions)");
				fail(err, errlen, img->path, what, where);
				goto out;
			}
			observe(vm, lay, RUN_DONE, 0, NULL, &g->final);
			rc = 0;
			goto out;
		}
		if (ex.kind != VM_EXIT_BREAKPOINT) {
			vm_get_state(vm, &st);
			describe_stop(vm, img, lay, &ex, st.regs.rip, what,
				      sizeof(what));
			fail(err, errlen, img->path, what, where);
			goto out;
		}

		vm_get_state(vm, &st);
		rip = st.regs.rip;
		rd.cr3 = st.sregs.cr3;
		if (!guest_in_entry_text(lay, rip)) {
			snprintf(what, sizeof(what),
				 "a breakpoint stopped outside entry text at "
				 "0x%llx",
				 (unsigned long long)rip);
			fail(err, errlen, img->path, what, where);
			goto out;
		}
		if (!stepping) {
			int known = 0;
			for (int i = 0; i < lay->nentry_points; i++)
				known |= lay->entry_points[i] == rip;
			if (!known) {
				snprintf(
					what, sizeof(what),
					"control entered entry text at 0x%llx, "
					"which is no entry point",
					(unsigned long long)rip);
				fail(err, errlen, img->path, what, where);
				goto out;
			}
		}

		b = add_boundary(g);
		if (!b || vm_read_virt(vm, rd.cr3, rip, code, sizeof(code)) ||
		    snapshot_take(vm, lay, &b->snap)) {
			snprintf(err, errlen,
				 "%s: cannot record boundary 0x%llx", img->path,
				 (unsigned long long)rip);
			goto out;
		}
		b->addr = rip;
		b->exec = ++execs[rip - lay->entry_text_start];
		insn_decode(code, sizeof(code), rip, &b->insn);
		boundary_name(img, b, where, sizeof(where));
		snprintf(where + strlen(where), sizeof(where) - strlen(where),
			 " (%s)", b->insn.text);

		nsucc = insn_successors(&b->insn, &st.regs, st.sregs.gs.base,
					st.sregs.fs.base, read_guest, &rd,
					succ);
		if (nsucc < 0) {
			fail(err, errlen, img->path,
			     "cannot read the memory operand that decides "
			     "where "
			     "the next instruction is",
			     where);
			goto out;
		}
		nbps = next_breakpoints(lay, &b->insn, succ, nsucc, bps);
		for (int i = 0; i < nbps; i++) {
			if (bps[i] == rip) {
				fail(err, errlen, img->path,
				     "an instruction that jumps to itself "
				     "cannot "
				     "be stepped by breakpoints",
				     where);
				goto out;
			}
		}
		stepping = nbps > 0;
		if (!stepping) {
			memcpy(bps, lay->entry_points, sizeof(bps));
			nbps = lay->nentry_points;
		}
	}
	snprintf(err, errlen, "%s: golden run did not finish within %d exits",
		 img->path, GOLDEN_MAX_EXITS);
out:
	free(execs);
	vm_set_breakpoints(vm, NULL, 0);
	if (rc)
		golden_free(g);
	return rc;
}

void golden_free(struct golden *g)
{
	for (size_t i = 0; i < g->n; i++)
		snapshot_free(&g->b[i].snap);
	free(g->b);
	observation_free(&g->final);
	g->b = NULL;
	g->n = g->cap = 0;
}
