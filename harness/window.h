/* Entry windows: what the machine state says about each boundary of a
 * trace, and the maximal runs of boundaries that share it.
 *
 * A boundary's class is the CPU's view at it: CPL; which GS base is live
 * (the kernel's per-CPU area or the user's); what RSP points into (the user
 * stack, the kernel stack, an IST stack, the stub's BODY_STACK, or the
 * guest symbol it lies in, such as a TCB save area or a trampoline stack);
 * CR3 when it is not the kernel's; NMI blocked; an STI or MOV SS interrupt
 * shadow; IF at CPL0. Classes with a well-known meaning get its name:
 *
 *   syscall-gap     CPL0 on the user's stack, entered by SYSCALL
 *   exit-window     CPL0 on the user's stack, on the way back to it
 *   ist-prologue    on an IST stack, before the handler moves off it
 *   ist-epilogue    on an IST stack again, after it moved off
 *   ist-handler     on an IST stack, a handler that never leaves it
 *   after-commit    on the stub's BODY_STACK (atomic IST entry)
 *   kernel          CPL0, kernel GS, kernel stack
 *   user            CPL3
 *   stack:<symbol>  CPL0 on some other stack (named by its symbol)
 *
 * The label is the name and the class, e.g.
 * "syscall-gap [cpl0 gs=user rsp=user]": two boundaries are in the same
 * window exactly when their labels are equal, so labels are what coverage
 * maps and reports key on.
 */
#ifndef IST_WINDOW_H
#define IST_WINDOW_H

#include "guest.h"
#include "loader.h"
#include "stepper.h"

#define WINDOW_LABEL_MAX 80

/* Labels every boundary of t (out[i] for t->b[i]). A trace after an
 * event is the handler (t->b[0] .. t->resumed - 1) and then the
 * interrupted code, which was in window resumed_in (NULL for the golden
 * run, which is all one piece). */
void window_label_trace(const struct guest_image *img,
			const struct guest_layout *lay, const struct trace *t,
			const char *resumed_in, char (*out)[WINDOW_LABEL_MAX]);

/* The window's name alone: the label up to its " [". */
void window_name(const char *label, char *out, size_t len);

#endif
