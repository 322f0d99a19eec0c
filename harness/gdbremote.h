/* A client for the gdb remote serial protocol, as far as the QEMU back end
 * needs it: packets over a stream socket, no-ack mode, and the interrupt
 * byte. Knows nothing about registers or about x86.
 */
#ifndef IST_GDBREMOTE_H
#define IST_GDBREMOTE_H

#include <stddef.h>

struct gdb_remote {
	int fd;
	int noack;
	char in[16384]; /* bytes received and not yet consumed */
	size_t inlen;
	/* The last 'g' reply, valid until a packet that may change the
	 * target's registers is sent (anything but g, m, q, Z, z, ?): a
	 * stopped target is asked for its registers again and again. */
	char regs[4096];
	int regs_valid;
};

/* Connects to a gdb stub listening on a UNIX socket; 0 or -1. */
int gdb_connect(struct gdb_remote *g, const char *path);
void gdb_disconnect(struct gdb_remote *g);

/* Sends one packet (the text between '$' and '#'). 0 or -1. */
int gdb_send(struct gdb_remote *g, const char *packet);

/* Receives one packet into out (NUL-terminated, escapes undone). Returns its
 * length, -1 when the connection failed, or -2 when nothing complete came
 * within timeout_ms (-1 waits for ever). */
int gdb_recv(struct gdb_remote *g, char *out, size_t cap, int timeout_ms);

/* gdb_send then gdb_recv; the reply's length or -1. */
int gdb_command(struct gdb_remote *g, const char *packet, char *reply,
		size_t cap);

/* Something other than this client changed the target's registers (QEMU's
 * monitor: a reset, a loadvm): the next 'g' asks the target. */
void gdb_forget_registers(struct gdb_remote *g);

/* Asks a running target to stop (the 0x03 byte); its stop reply follows. */
int gdb_interrupt(struct gdb_remote *g);

#endif
