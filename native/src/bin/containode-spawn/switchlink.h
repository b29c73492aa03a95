/* switchlink.h - a detached container's interfaces on containet switches,
 * held by the supervisor (SPAWN.md "Supervised mode", `switch_attach`).
 *
 * One link per interface: the supervisor keeps a copy of the tap's fd and
 * one control connection to the switch, on which it attached the tap. The
 * port lives as long as that connection (the switch drops a connection's
 * ports when it closes), so:
 *   - the supervisor ending (the container ended for good, stop, rm, even
 *     SIGKILL) releases every port at once;
 *   - a switch that goes away and comes back on the same socket gets the
 *     taps again: the link reconnects with backoff (100 ms doubling to 1 s)
 *     and repeats the attach, until the switch refuses the node for good
 *     (CN_DETACHED_PERMANENTLY).
 * The attach request is the caller's JSON; the link adds `"pid"` (the
 * supervisor's, which lives as long as the port).
 *
 * States: DOWN (no connection, retry_at set) -> UP (attached) -> DOWN on
 * the connection's end; GIVEN_UP after a permanent refusal.
 */
#ifndef SPAWN_SWITCHLINK_H
#define SPAWN_SWITCHLINK_H

#define SWITCHLINK_REPLY_MAX 4096

enum switchlink_state { SWITCHLINK_DOWN, SWITCHLINK_UP, SWITCHLINK_GIVEN_UP };

struct switchlink {
	char *ifname, *socket, *request;	/* request: JSON without its closing brace's pid */
	int tap;			/* our copy of the tap, -1 until the child sent it */
	int conn;			/* control connection, -1 when DOWN */
	enum switchlink_state state;
	long long retry_at;		/* CLOCK_MONOTONIC ms, -1: none */
	long backoff_ms;
};

void switchlink_init(struct switchlink *l, char *ifname, char *socket, char *request);
int switchlink_attach(struct switchlink *l, char *reply, unsigned long cap);
void switchlink_readable(struct switchlink *l, long long now);
void switchlink_retry(struct switchlink *l, long long now);
void switchlink_close(struct switchlink *l);

#endif /* SPAWN_SWITCHLINK_H */
