/* The readable trace of one trial (`replay --trace`): from the boundary
 * where the last event is raised to the end of the run, each boundary of
 * traced code with its disassembly and the registers it changed, each
 * event delivery with the frame the CPU pushed and the stack it is on,
 * each IRET, and NMI blocking where it changes. */
#ifndef IST_TRIAL_TRACE_H
#define IST_TRIAL_TRACE_H

#include <stdio.h>

#include "stepper.h"

void trial_trace_print(FILE *f, const struct guest_image *img,
		       const struct guest_layout *lay, const struct trace *t);

/* The same as one JSON array of boundaries (docs/crash-format.md). */
void trial_trace_json(FILE *f, const struct guest_image *img,
		      const struct guest_layout *lay, const struct trace *t);

#endif
