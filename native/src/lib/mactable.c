/* mactable.c - bounded MAC learning table with aging, see mactable.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mactable.h"

#define MACTABLE_MAX (1 << 20)

/* mac_hash() - bucket of @mac in VLAN @vid: the 48-bit value and the
 * 12-bit VLAN mixed with the table's seed through the splitmix64
 * finaliser, so chains depend on a secret.
 * Return: bucket index.
 */
static uint32_t mac_hash(const struct mactable *t, const uint8_t *mac, uint16_t vid)
{
	uint64_t k = 0;

	memcpy(&k, mac, 6);
	k ^= (uint64_t)vid << 48;
	k ^= t->seed;
	k ^= k >> 30;
	k *= 0xbf58476d1ce4e5b9ULL;
	k ^= k >> 27;
	k *= 0x94d049bb133111ebULL;
	k ^= k >> 31;
	return (uint32_t)k & t->mask;
}

int mactable_init(struct mactable *t, int size, mactable_gone_fn gone, void *ctx)
{
	uint32_t nb = 1;
	int i;

	if (size < 1 || size > MACTABLE_MAX)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	/* Twice as many buckets as entries keeps chains short at full load. */
	while (nb < (uint32_t)size * 2)
		nb <<= 1;
	t->e = calloc(size, sizeof(*t->e));
	t->bucket = malloc(nb * sizeof(*t->bucket));
	if (!t->e || !t->bucket) {
		free(t->e);
		free(t->bucket);
		return -ENOMEM;
	}
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t ^ 0x5bd1e995;
	t->mask = nb - 1;
	for (i = 0; i < (int)nb; i++)
		t->bucket[i] = -1;
	for (i = 0; i < size; i++) {
		t->e[i].next = i + 1 < size ? i + 1 : -1;
		t->e[i].hnext = -1;
		t->e[i].port = -1;
		t->e[i].remote = -1;
	}
	t->size = size;
	t->free_head = 0;
	t->oldest = t->newest = -1;
	t->heavy = -1;
	t->gone = gone;
	t->ctx = ctx;
	return 0;
}

void mactable_free(struct mactable *t)
{
	free(t->e);
	free(t->bucket);
	t->e = NULL;
	t->bucket = NULL;
}

/* find() - index of the entry of @mac in VLAN @vid.  Return: index or -1. */
static int find(const struct mactable *t, const uint8_t *mac, uint16_t vid)
{
	int i = t->bucket[mac_hash(t, mac, vid)];

	while (i >= 0 && (t->e[i].vid != vid || memcmp(t->e[i].mac, mac, 6)))
		i = t->e[i].hnext;
	return i;
}

int mactable_lookup(const struct mactable *t, const uint8_t *mac, uint16_t vid, int *remote)
{
	int i = find(t, mac, vid);

	*remote = i < 0 ? -1 : t->e[i].remote;
	return i < 0 ? -1 : t->e[i].port;
}

/* age_unlink() - take entry @i out of the age list.  Return: nothing. */
static void age_unlink(struct mactable *t, int i)
{
	struct mac_entry *e = &t->e[i];

	if (e->prev >= 0)
		t->e[e->prev].next = e->next;
	else
		t->oldest = e->next;
	if (e->next >= 0)
		t->e[e->next].prev = e->prev;
	else
		t->newest = e->prev;
}

/* age_append() - put entry @i at the newest end.  Return: nothing. */
static void age_append(struct mactable *t, int i)
{
	struct mac_entry *e = &t->e[i];

	e->prev = t->newest;
	e->next = -1;
	if (t->newest >= 0)
		t->e[t->newest].next = i;
	else
		t->oldest = i;
	t->newest = i;
}

static int port_ok(int port)
{
	return port >= 0 && port < CN_SWITCH_PORTS_MAX;
}

static void count_add(struct mactable *t, int port)
{
	if (!port_ok(port))
		return;
	t->count[port]++;
	if (t->heavy < 0 || t->count[port] > t->count[t->heavy])
		t->heavy = port;
}

static void count_sub(struct mactable *t, int port)
{
	if (port_ok(port) && t->count[port] > 0)
		t->count[port]--;
}

/* victim() - the entry to evict from a full table: the oldest of the port
 * with the most entries. @heavy is only raised on insert, so it is
 * recomputed here when its port has emptied (rare: a flush).
 * Return: entry index.
 */
static int victim(struct mactable *t)
{
	int i, p;

	if (t->heavy < 0 || t->count[t->heavy] == 0) {
		t->heavy = -1;
		for (p = 0; p < CN_SWITCH_PORTS_MAX; p++)
			if (t->count[p] > 0 && (t->heavy < 0 || t->count[p] > t->count[t->heavy]))
				t->heavy = p;
	}
	/* Other ports' entries are few next to the heavy one's (it holds
	 * at least size / ports), so this walk is short. */
	for (i = t->oldest; i >= 0; i = t->e[i].next)
		if (t->e[i].port == t->heavy)
			return i;
	return t->oldest;
}

/* drop() - remove entry @i from its chain and the age list, tell the owner
 * why, and return it to the free list.  Return: nothing.
 */
static void drop(struct mactable *t, int i, enum mac_gone why)
{
	struct mac_entry *e = &t->e[i];
	int32_t *link = &t->bucket[mac_hash(t, e->mac, e->vid)];

	while (*link != i)
		link = &t->e[*link].hnext;
	*link = e->hnext;
	age_unlink(t, i);
	if (t->gone)
		t->gone(t->ctx, e->mac, e->port, e->remote, why);
	count_sub(t, e->port);
	e->port = -1;
	e->remote = -1;
	e->hnext = -1;
	e->next = t->free_head;
	t->free_head = i;
	t->used--;
}

int mactable_learn(struct mactable *t, const uint8_t *mac, uint16_t vid, int port, int remote,
		   uint64_t now_ms, int *old_port, int *old_remote)
{
	int i = find(t, mac, vid);
	int ret = MAC_REFRESHED;
	uint32_t b;

	if (i >= 0) {
		struct mac_entry *e = &t->e[i];

		if (e->port != port || e->remote != remote) {
			*old_port = e->port;
			*old_remote = e->remote;
			count_sub(t, e->port);
			count_add(t, port);
			e->port = port;
			e->remote = remote;
			ret = MAC_MOVED;
		}
		/* Entries seen in the same millisecond are already in
		 * order; skipping the relink keeps the common case cheap. */
		if (e->seen_ms != now_ms) {
			e->seen_ms = now_ms;
			age_unlink(t, i);
			age_append(t, i);
		}
		return ret;
	}
	if (t->free_head < 0)
		drop(t, victim(t), MAC_GONE_EVICTED);
	i = t->free_head;
	t->free_head = t->e[i].next;
	memcpy(t->e[i].mac, mac, 6);
	t->e[i].vid = vid;
	t->e[i].port = port;
	t->e[i].remote = remote;
	t->e[i].seen_ms = now_ms;
	b = mac_hash(t, mac, vid);
	t->e[i].hnext = t->bucket[b];
	t->bucket[b] = i;
	age_append(t, i);
	count_add(t, port);
	t->used++;
	return MAC_LEARNED;
}

int mactable_expire(struct mactable *t, uint64_t before_ms)
{
	int n = 0;

	while (t->oldest >= 0 && t->e[t->oldest].seen_ms < before_ms) {
		drop(t, t->oldest, MAC_GONE_AGED);
		n++;
	}
	return n;
}

int mactable_flush_port(struct mactable *t, int port)
{
	int i = t->oldest, n = 0;

	while (i >= 0) {
		int next = t->e[i].next;

		if (t->e[i].port == port) {
			drop(t, i, MAC_GONE_FLUSHED);
			n++;
		}
		i = next;
	}
	return n;
}

int mactable_flush_remote(struct mactable *t, int port, int remote)
{
	int i = t->oldest, n = 0;

	while (i >= 0) {
		int next = t->e[i].next;

		if (t->e[i].port == port && t->e[i].remote == remote) {
			drop(t, i, MAC_GONE_FLUSHED);
			n++;
		}
		i = next;
	}
	return n;
}

uint64_t mactable_oldest_ms(const struct mactable *t)
{
	return t->oldest >= 0 ? t->e[t->oldest].seen_ms : 0;
}
