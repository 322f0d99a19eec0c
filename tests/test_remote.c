/* The QEMU back end's two wire protocols, against a peer played by the
 * test over a socketpair: gdb remote packets (checksums, acks, escapes,
 * no-ack mode, timeouts) and QMP lines (events before a reply, errors,
 * human-monitor output). Needs no QEMU. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "gdbremote.h"
#include "qmp.h"

static void peer_says(int fd, const char *bytes)
{
	CHECK_EQ_U64(write(fd, bytes, strlen(bytes)), strlen(bytes));
}

/* What the harness sent, as a string. */
static const char *peer_heard(int fd)
{
	static char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static void test_gdb_packets(void)
{
	struct gdb_remote g = {.fd = -1};
	char reply[256];
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	g.fd = sv[0];

	/* A packet goes out framed with its checksum and waits for '+'. */
	peer_says(sv[1], "+");
	CHECK_EQ_U64(gdb_send(&g, "g"), 0);
	CHECK_EQ_STR(peer_heard(sv[1]), "$g#67");

	/* A '-' (bad checksum) before the ack is a failure. */
	peer_says(sv[1], "-");
	CHECK(gdb_send(&g, "?") < 0);
	peer_heard(sv[1]);

	/* A reply: leading acks skipped, '}' escapes undone, acked. */
	peer_says(sv[1], "++$T05}]x#00");
	CHECK_EQ_U64(gdb_recv(&g, reply, sizeof(reply), 1000), 5);
	CHECK_EQ_STR(reply, "T05}x");
	CHECK_EQ_STR(peer_heard(sv[1]), "+");

	/* Two packets in one read come out one at a time. */
	peer_says(sv[1], "$OK#9a$E01#a6");
	CHECK(gdb_recv(&g, reply, sizeof(reply), 1000) == 2);
	CHECK_EQ_STR(reply, "OK");
	CHECK(gdb_recv(&g, reply, sizeof(reply), 1000) == 3);
	CHECK_EQ_STR(reply, "E01");

	/* A packet split across reads is put together. */
	peer_says(sv[1], "$O");
	CHECK_EQ_U64(gdb_recv(&g, reply, sizeof(reply), 50), (uint64_t)-2);
	peer_says(sv[1], "K#9a");
	CHECK(gdb_recv(&g, reply, sizeof(reply), 1000) == 2);

	/* Nothing within the time limit: -2, and nothing consumed. */
	CHECK_EQ_U64(gdb_recv(&g, reply, sizeof(reply), 20), (uint64_t)-2);

	/* No-ack mode: no '+' either way. */
	peer_heard(sv[1]);
	g.noack = 1;
	CHECK_EQ_U64(gdb_send(&g, "c"), 0);
	CHECK_EQ_STR(peer_heard(sv[1]), "$c#63");
	peer_says(sv[1], "$S05#b8");
	CHECK(gdb_recv(&g, reply, sizeof(reply), 1000) == 3);
	CHECK_EQ_STR(peer_heard(sv[1]), "");

	/* The interrupt is the bare 0x03 byte. */
	CHECK_EQ_U64(gdb_interrupt(&g), 0);
	CHECK_EQ_STR(peer_heard(sv[1]), "\x03");

	/* The peer gone: a failure, not a hang. */
	close(sv[1]);
	CHECK(gdb_recv(&g, reply, sizeof(reply), 1000) == -1);
	gdb_disconnect(&g);
}

static void test_qmp_lines(void)
{
	struct qmp q = {.fd = -1};
	char out[256];
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	q.fd = sv[0];

	/* Events and the greeting before the reply are skipped. */
	peer_says(sv[1], "{\"QMP\": {\"version\": {}}}\n"
			 "{\"event\": \"STOP\"}\n{\"return\": {}}\n");
	CHECK_EQ_U64(qmp_execute(&q, "{\"execute\":\"inject-nmi\"}", NULL, 0),
		     0);
	CHECK(strstr(peer_heard(sv[1]), "inject-nmi\"}\n") != NULL);

	/* An error is -1, with the line for the caller. */
	peer_says(sv[1], "{\"error\": {\"class\": \"GenericError\"}}\n");
	CHECK(qmp_execute(&q, "{\"execute\":\"x\"}", out, sizeof(out)) < 0);
	CHECK(strstr(out, "GenericError") != NULL);

	/* A human-monitor command that printed nothing succeeded ... */
	peer_says(sv[1], "{\"return\": \"\"}\n");
	CHECK_EQ_U64(qmp_hmp(&q, "savevm c1", out, sizeof(out)), 0);
	CHECK(strstr(peer_heard(sv[1]), "\"command-line\":\"savevm c1\"") !=
	      NULL);

	/* ... and one that printed something did not, and says what. */
	peer_says(sv[1], "{\"return\": \"Snapshot 'c9' does not exist\"}\n");
	CHECK(qmp_hmp(&q, "loadvm c9", out, sizeof(out)) < 0);
	CHECK(strstr(out, "does not exist") != NULL);
	peer_heard(sv[1]);

	close(sv[1]);
	CHECK(qmp_execute(&q, "{\"execute\":\"quit\"}", NULL, 0) < 0);
	qmp_disconnect(&q);
}

int main(void)
{
	test_gdb_packets();
	test_qmp_lines();
	return check_summary("test_remote");
}
