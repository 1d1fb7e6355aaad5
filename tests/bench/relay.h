/* relay.h - the floor the bridge is measured against: a byte-for-byte relay.
 *
 * A child process with its own epoll and two loopback listeners (ports
 * picked by the OS). It takes one robot at a time (a new robot replaces the
 * old) and any number of clients; each client is sent "RELAY\n" on accept,
 * so the bench knows it is registered. Every read from the robot (at most
 * RELAY_READ_CHUNK bytes, as the bridge reads) is cut after its last LF and
 * that block of whole lines is written to every client with one
 * non-blocking write; no parsing, no copy unless a socket is full. What a
 * client's socket does not take waits in that client's buffer; while the
 * buffer holds >= queue_bytes, new blocks for that client are dropped whole
 * (the bridge's soft limit), so a client never sees half a line. Bytes
 * clients send are read and discarded.
 *
 * The relay runs until child_stop(); it dies with the bench.
 */
#ifndef RB_BENCH_RELAY_H
#define RB_BENCH_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RELAY_READ_CHUNK (16 * 1024) /* = the bridge's ROBOT_READ_CHUNK */
#define RELAY_ERR_MAX 160

struct relay_child {
    pid_t pid;
    uint16_t robot_port, client_port;
};

/* 0, or -1 with err. The child re-executes this program (/proc/self/exe)
 * with RELAY_ARG first, so its memory figures are its own, not a copy of
 * the bench's: the program's main() must start with relay_main_args(). */
int relay_start(size_t queue_bytes, struct relay_child *rc, char err[RELAY_ERR_MAX]);

#define RELAY_ARG "--relay-child"
/* argv = {prog, RELAY_ARG, robot listen fd, client listen fd, queue bytes}:
 * runs the relay and never returns. Anything else: returns 0 at once. */
int relay_main_args(int argc, char **argv);

#endif
