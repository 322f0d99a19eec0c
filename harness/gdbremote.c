/* The gdb remote serial protocol: "$packet#checksum", acknowledged with '+'
 * until QStartNoAckMode turns that off. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gdbremote.h"
#include "unix_socket.h"

#define REPLY_TIMEOUT_MS 10000

int gdb_connect(struct gdb_remote *g, const char *path)
{
	memset(g, 0, sizeof(*g));
	g->fd = unix_socket_connect(path);
	return g->fd < 0 ? -1 : 0;
}

void gdb_disconnect(struct gdb_remote *g)
{
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Reads more bytes; -1 on failure, -2 on timeout. */
static int fill(struct gdb_remote *g, long deadline)
{
	struct pollfd p = {.fd = g->fd, .events = POLLIN};
	ssize_t n;
	int wait = -1, rc;

	if (g->inlen == sizeof(g->in))
		return -1; /* a packet larger than we ever ask for */
	if (deadline >= 0) {
		long left = deadline - now_ms();
		wait = left > 0 ? (int)left : 0;
	}
	do
		rc = poll(&p, 1, wait);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return -2;
	if (rc < 0)
		return -1;
	n = recv(g->fd, g->in + g->inlen, sizeof(g->in) - g->inlen, 0);
	if (n <= 0)
		return -1;
	g->inlen += (size_t)n;
	return 0;
}

static void consume(struct gdb_remote *g, size_t n)
{
	memmove(g->in, g->in + n, g->inlen - n);
	g->inlen -= n;
}

int gdb_send(struct gdb_remote *g, const char *packet)
{
	char frame[4200];
	unsigned sum = 0;
	size_t len = strlen(packet);
	long deadline = now_ms() + REPLY_TIMEOUT_MS;

	if (len + 5 > sizeof(frame))
		return -1;
	if (!strchr("gmqZz?", packet[0]))
		g->regs_valid = 0;
	for (size_t i = 0; i < len; i++)
		sum += (unsigned char)packet[i];
	snprintf(frame, sizeof(frame), "$%s#%02x", packet, sum & 0xff);
	if (write_all(g->fd, frame, len + 4))
		return -1;
	if (g->noack)
		return 0;
	for (;;) {
		if (g->inlen && g->in[0] == '+') {
			consume(g, 1);
			return 0;
		}
		if (g->inlen && g->in[0] == '-')
			return -1; /* the stub saw a bad checksum */
		if (g->inlen)
			return -1; /* anything else before the ack */
		if (fill(g, deadline))
			return -1;
	}
}

int gdb_recv(struct gdb_remote *g, char *out, size_t cap, int timeout_ms)
{
	long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	for (;;) {
		char *start, *hash;
		size_t skip = 0;

		/* Acks left over, and anything before the packet starts. */
		while (skip < g->inlen && g->in[skip] != '$')
			skip++;
		consume(g, skip);
		start = g->inlen ? g->in : NULL;
		hash = start ? memchr(start, '#', g->inlen) : NULL;
		if (hash && (size_t)(hash - g->in) + 3 <= g->inlen) {
			size_t n = 0;
			for (char *p = start + 1; p < hash; p++) {
				char c = *p;
				if (c == '}' && p + 1 < hash)
					c = (char)(*++p ^ 0x20);
				if (n + 1 < cap)
					out[n++] = c;
			}
			out[n] = 0;
			consume(g, (size_t)(hash - g->in) + 3);
			if (!g->noack && write_all(g->fd, "+", 1))
				return -1;
			return (int)n;
		}
		{
			int rc = fill(g, deadline);
			if (rc)
				return rc;
		}
	}
}

int gdb_command(struct gdb_remote *g, const char *packet, char *reply,
		size_t cap)
{
	int read_regs = !strcmp(packet, "g");
	int n;

	if (read_regs && g->regs_valid && strlen(g->regs) < cap) {
		strcpy(reply, g->regs);
		return (int)strlen(reply);
	}
	if (gdb_send(g, packet))
		return -1;
	if (gdb_recv(g, reply, cap, REPLY_TIMEOUT_MS) < 0)
		return -1;
	n = (int)strlen(reply);
	if (read_regs && reply[0] != 'E' && (size_t)n < sizeof(g->regs)) {
		memcpy(g->regs, reply, (size_t)n + 1);
		g->regs_valid = 1;
	}
	return n;
}

void gdb_forget_registers(struct gdb_remote *g)
{
	g->regs_valid = 0;
}

int gdb_interrupt(struct gdb_remote *g)
{
	return write_all(g->fd, "\x03", 1);
}
