/* mactable.h - the switch's bounded MAC learning table.
 *
 * A fixed pool of entries allocated once (mactable_init), a hash over the
 * MAC and its VLAN with a per-table random seed (so a peer choosing source MACs cannot
 * aim at one chain), and a list of all entries ordered by last-seen time,
 * oldest first. Aging pops from the head. A full table evicts the oldest
 * entry of the port holding the most entries, so one port flooding random
 * source MACs recycles its own entries and cannot push out the stations of
 * the other ports (it would otherwise evict every legitimate entry within
 * milliseconds, and their traffic would be flooded).
 * Nothing here allocates after init, so a flood of random source MACs costs
 * a bounded amount of memory.
 *
 * Entry states:
 *   FREE     on the free list, in no hash chain
 *   LEARNED  in its hash chain and the age list, keyed by (@vid, @mac): one
 *            MAC may live in several VLANs at once, on different ports (a
 *            host's VLAN interfaces share its MAC, IEEE 802.1Q 8.8
 *            independent learning); @port is the port slot the
 *            MAC was last seen on as a source and @remote, on a VXLAN
 *            uplink, the remote VTEP slot behind it (-1 otherwise). A frame
 *            from another port or remote moves it (station move); a frame
 *            from the same place refreshes it to the tail of the age list.
 * LEARNED -> FREE when it ages out, is evicted to make room, or its port
 * or remote goes away (mactable_flush_port, mactable_flush_remote).
 *
 * Not thread-safe: the switch calls it under its lock.
 */
#ifndef MACTABLE_H
#define MACTABLE_H

#include <stdint.h>

#include "containet.h"

/* Why an entry left the table, passed to mactable_gone_fn. */
enum mac_gone {
	MAC_GONE_AGED = 1,	/* not seen for the aging time */
	MAC_GONE_EVICTED = 2,	/* oldest entry dropped for a new one */
	MAC_GONE_FLUSHED = 3,	/* its port was removed */
};

/* What mactable_learn() did. */
enum mac_learn {
	MAC_REFRESHED = 0,	/* known on this port already */
	MAC_LEARNED = 1,	/* new entry */
	MAC_MOVED = 2,		/* known on another port, now on this one */
};

typedef void (*mactable_gone_fn)(void *ctx, const uint8_t *mac, int port, int remote, enum mac_gone why);

struct mac_entry {
	uint8_t mac[6];
	uint16_t vid;		/* VLAN the MAC was learned in */
	int32_t port;
	int32_t remote;		/* VXLAN remote slot on @port, or -1 */
	uint64_t seen_ms;
	int32_t hnext;		/* next in hash chain, or -1 */
	int32_t prev, next;	/* age list neighbours (free list uses next) */
};

struct mactable {
	struct mac_entry *e;
	int32_t *bucket;
	uint32_t mask;		/* buckets - 1 */
	uint64_t seed;
	int32_t size, used;
	int32_t free_head;
	int32_t oldest, newest;
	int32_t count[CN_SWITCH_PORTS_MAX];	/* entries per port slot */
	int32_t heavy;		/* port slot with the most entries (kept lazily) */
	mactable_gone_fn gone;
	void *ctx;
};

/* mactable_init() - allocate a table for @size entries.
 * Return: 0, -EINVAL for a size out of 1..1048576, or -ENOMEM.
 */
int mactable_init(struct mactable *t, int size, mactable_gone_fn gone, void *ctx);

/* mactable_free() - release the table's memory.  Return: nothing. */
void mactable_free(struct mactable *t);

/* mactable_lookup() - the port slot @mac was learned on in VLAN @vid, and
 * in *@remote the remote slot behind it (-1 for none).
 * Return: slot (>= 0), or -1 if unknown.
 */
int mactable_lookup(const struct mactable *t, const uint8_t *mac, uint16_t vid, int *remote);

/* mactable_learn() - record @mac of VLAN @vid as seen on @port (behind remote @remote,
 * -1 for none) at @now_ms, evicting the oldest entry if the table is full.
 * *@old_port and *@old_remote get the previous place of a moved entry.
 * Return: enum mac_learn.
 */
int mactable_learn(struct mactable *t, const uint8_t *mac, uint16_t vid, int port, int remote,
		   uint64_t now_ms, int *old_port, int *old_remote);

/* mactable_expire() - drop entries last seen before @before_ms.
 * Return: number dropped.
 */
int mactable_expire(struct mactable *t, uint64_t before_ms);

/* mactable_flush_port() - drop every entry of port slot @port.
 * Return: number dropped.
 */
int mactable_flush_port(struct mactable *t, int port);

/* mactable_flush_remote() - drop every entry behind remote @remote of
 * port slot @port.  Return: number dropped.
 */
int mactable_flush_remote(struct mactable *t, int port, int remote);

/* mactable_oldest_ms() - last-seen time of the oldest entry.
 * Return: that time, or 0 when the table is empty.
 */
uint64_t mactable_oldest_ms(const struct mactable *t);

#endif /* MACTABLE_H */
