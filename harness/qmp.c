/* QMP: one JSON object per line each way. Events may come before any
 * reply; they are noted and skipped. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qmp.h"
#include "unix_socket.h"

#define QMP_TIMEOUT_MS 30000

int qmp_connect(struct qmp *q, const char *path)
{
	memset(q, 0, sizeof(*q));
	q->fd = unix_socket_connect(path);
	if (q->fd < 0)
		return -1;
	/* The greeting is a line like an event; then negotiate. */
	return qmp_execute(q, "{\"execute\":\"qmp_capabilities\"}", NULL, 0);
}

void qmp_disconnect(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

/* Takes one complete line out of the buffer, reading as needed. Returns its
 * length, -2 on timeout, -1 on failure. */
static int read_line(struct qmp *q, char *line, size_t cap, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(q->in, '\n', q->inlen);
		struct pollfd p = {.fd = q->fd, .events = POLLIN};
		ssize_t n;
		int rc;

		if (nl) {
			size_t len = (size_t)(nl - q->in);
			size_t keep = len < cap ? len : cap - 1;
			memcpy(line, q->in, keep);
			line[keep] = 0;
			memmove(q->in, nl + 1, q->inlen - len - 1);
			q->inlen -= len + 1;
			return (int)keep;
		}
		if (q->inlen == sizeof(q->in))
			return -1;
		do
			rc = poll(&p, 1, timeout_ms);
		while (rc < 0 && errno == EINTR);
		if (rc == 0)
			return -2;
		if (rc < 0)
			return -1;
		n = recv(q->fd, q->in + q->inlen, sizeof(q->in) - q->inlen, 0);
		if (n <= 0)
			return -1;
		q->inlen += (size_t)n;
	}
}

/* 1 for a line that answers no command: an event, or the greeting. */
static int not_a_reply(const char *line)
{
	return strstr(line, "\"event\"") || strstr(line, "\"QMP\"");
}

int qmp_execute(struct qmp *q, const char *json, char *reply, size_t cap)
{
	char line[8192];
	size_t len = strlen(json);

	if (send(q->fd, json, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    send(q->fd, "\n", 1, MSG_NOSIGNAL) != 1)
		return -1;
	for (;;) {
		if (read_line(q, line, sizeof(line), QMP_TIMEOUT_MS) < 0)
			return -1;
		if (not_a_reply(line))
			continue;
		if (reply && cap)
			snprintf(reply, cap, "%s", line);
		return strstr(line, "\"return\"") ? 0 : -1;
	}
}

int qmp_hmp(struct qmp *q, const char *command, char *out, size_t cap)
{
	char json[512], reply[8192];
	const char *ret;

	snprintf(json, sizeof(json),
		 "{\"execute\":\"human-monitor-command\",\"arguments\":"
		 "{\"command-line\":\"%s\"}}",
		 command);
	if (qmp_execute(q, json, reply, sizeof(reply))) {
		if (out && cap)
			snprintf(out, cap, "%s", reply);
		return -1;
	}
	ret = strstr(reply, "\"return\": \"");
	if (ret && ret[11] == '"')
		return 0;
	if (out && cap)
		snprintf(out, cap, "%s", ret ? ret + 11 : reply);
	return -1;
}
