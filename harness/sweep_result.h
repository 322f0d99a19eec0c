/* What a stub's sweep leaves once its guest is gone: its counts and its
 * failures as text. The CI reports (JUnit, JSON) are written from these,
 * and a sweep's resume state keeps them, so that a sweep stopped and
 * resumed reports every schedule of both parts.
 */
#ifndef IST_SWEEP_RESULT_H
#define IST_SWEEP_RESULT_H

#include "sweep.h"
#include "window.h"

/* One schedule that did not plainly pass as declared. */
struct sweep_failure {
	char schedule[600]; /* schedule_format */
	int depth;	    /* the schedule's */
	int kind;	    /* its last event's (enum event_kind) */
	/* The window where its last event is raised. */
	char window[WINDOW_LABEL_MAX];
	char verdict[32];  /* verdict_name; "pass" for a declared failure
			      that no longer fails */
	char declared[32]; /* declaration_name */
	int as_declared;
	int outside;	      /* broke a declared assumption */
	char assumption[160]; /* which, or "" */
	char signature[17];   /* crash_signature; "" for harness errors */
	char crash[512];      /* the crash file with its signature, or "" */
	char *details;	      /* the full report: each step's boundary as
				 symbol+offset with its disassembly, the verdict,
				 expected against observed field by field */
};

struct stub_result {
	char name[64];
	/* What the report says of the stub before its counts: its name and
	 * description, its golden trace, its fixup table's check (report.c,
	 * report_stub_about); NULL when not known. */
	char *about;
	int swept;	   /* 0: it could not be (error says why) */
	int golden_failed; /* loadable, but failed without injection */
	char error[512];
	int depth;
	struct depth_counts counts[SCHEDULE_MAX_DEPTH];
	/* Schedules not as declared: failures the stub does not declare
	 * (or of another verdict), and declared failures that passed. */
	size_t unexpected, no_longer_failing;
	size_t crashes_written;
	struct sweep_failure *failures;
	size_t nfailures;
	size_t dropped; /* failures beyond those kept (SWEEP_MAX_RECORDS) */
};

/* Fills r from a finished sweep of s: its counts and every record kept.
 * crash_dir is where the sweep wrote crash files (NULL: none). */
int stub_result_from_sweep(struct stub_result *r, const struct stub_sweep *s,
			   const char *crash_dir);
/* Adds the counts and failures of more (the same stub, another part of
 * its schedules) to r. */
int stub_result_add(struct stub_result *r, const struct stub_result *more);
void stub_result_free(struct stub_result *r);

#endif
