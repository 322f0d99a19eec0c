/* The one way the harness reaches QEMU's gdb stub and QMP: a stream
 * connection to a UNIX socket. */
#ifndef IST_UNIX_SOCKET_H
#define IST_UNIX_SOCKET_H

/* A connected, close-on-exec socket, or -1. */
int unix_socket_connect(const char *path);

#endif
