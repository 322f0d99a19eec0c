/* A client for QEMU's machine protocol (QMP), as far as the QEMU back end
 * needs it: one command at a time, and human-monitor commands through it.
 * Events are skipped. JSON is matched, not parsed: QEMU's replies to these
 * commands are fixed in shape.
 */
#ifndef IST_QMP_H
#define IST_QMP_H

#include <stddef.h>

struct qmp {
	int fd;
	char in[65536];
	size_t inlen;
};

/* Connects to QMP on a UNIX socket and leaves capabilities negotiation
 * done. 0 or -1. */
int qmp_connect(struct qmp *q, const char *path);
void qmp_disconnect(struct qmp *q);

/* Runs one command, given as its JSON object. Returns 0 when QEMU answered
 * "return", -1 when it answered "error" or failed; the reply line goes to
 * reply (may be NULL). */
int qmp_execute(struct qmp *q, const char *json, char *reply, size_t cap);

/* Runs a human-monitor command. Returns 0 when it printed nothing (success
 * for savevm, loadvm, mce), else -1 with what it printed in out. */
int qmp_hmp(struct qmp *q, const char *command, char *out, size_t cap);

#endif
