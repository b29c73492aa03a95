/* layout.c - the ABI of containet.h as the TypeScript side declares it.
 *
 * packages/common/src/native-types.ts declares each struct below field by
 * field (koffi struct types) and each constant once. Here every size and
 * offset is pinned with _Static_assert, so a change to a struct in C fails
 * the build until this list (and the TypeScript declaration) follow, and
 * cn_layout_value() reports them, so packages/common/test/native-layout.test
 * fails when the TypeScript side drifts.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "containet.h"

/* S(struct, sizeof), F(struct, field, offsetof), C(constant) */
#define CN_LAYOUT(S, F, C)						\
	S(cn_port_stats, 96)						\
	F(cn_port_stats, rx_packets, 0)					\
	F(cn_port_stats, rx_bytes, 8)					\
	F(cn_port_stats, tx_packets, 16)				\
	F(cn_port_stats, tx_bytes, 24)					\
	F(cn_port_stats, drops, 32)					\
	F(cn_port_stats, errors, 40)					\
	F(cn_port_stats, flags, 48)					\
	F(cn_port_stats, mac_count, 56)					\
	F(cn_port_stats, vlan_drops, 64)				\
	F(cn_port_stats, impair_lost, 72)				\
	F(cn_port_stats, queue_drops, 80)				\
	F(cn_port_stats, queued_bytes, 88)				\
	S(cn_switch_event, 24)						\
	F(cn_switch_event, type, 0)					\
	F(cn_switch_event, port, 4)					\
	F(cn_switch_event, other, 8)					\
	F(cn_switch_event, err, 12)					\
	F(cn_switch_event, mac, 16)					\
	F(cn_switch_event, pad, 22)					\
	S(cn_mac_record, 20)						\
	F(cn_mac_record, mac, 0)					\
	F(cn_mac_record, remote, 6)					\
	F(cn_mac_record, port, 8)					\
	F(cn_mac_record, age_ms, 12)					\
	F(cn_mac_record, vlan, 16)					\
	F(cn_mac_record, pad, 18)					\
	S(cn_switch_status, 56)						\
	F(cn_switch_status, ports, 0)					\
	F(cn_switch_status, macs, 8)					\
	F(cn_switch_status, mac_table_size, 16)				\
	F(cn_switch_status, mac_age_ms, 24)				\
	F(cn_switch_status, events_lost, 32)				\
	F(cn_switch_status, evictions, 40)				\
	F(cn_switch_status, io_uring, 48)				\
	S(cn_vxlan_stats, 80)						\
	F(cn_vxlan_stats, vni, 0)					\
	F(cn_vxlan_stats, mtu, 8)					\
	F(cn_vxlan_stats, local_addr, 16)				\
	F(cn_vxlan_stats, local_port, 24)				\
	F(cn_vxlan_stats, rx_malformed, 32)				\
	F(cn_vxlan_stats, rx_bad_vni, 40)				\
	F(cn_vxlan_stats, rx_unknown_remote, 48)			\
	F(cn_vxlan_stats, tx_too_big, 56)				\
	F(cn_vxlan_stats, tx_segmented, 64)				\
	F(cn_vxlan_stats, tx_bad_gso, 72)				\
	S(cn_vxlan_remote_info, 56)					\
	F(cn_vxlan_remote_info, addr, 0)				\
	F(cn_vxlan_remote_info, port, 4)				\
	F(cn_vxlan_remote_info, slot, 8)				\
	F(cn_vxlan_remote_info, pad, 12)				\
	F(cn_vxlan_remote_info, rx_packets, 16)				\
	F(cn_vxlan_remote_info, rx_bytes, 24)				\
	F(cn_vxlan_remote_info, tx_packets, 32)				\
	F(cn_vxlan_remote_info, tx_bytes, 40)				\
	F(cn_vxlan_remote_info, macs, 48)				\
	S(cn_capture_stats, 16)						\
	F(cn_capture_stats, written, 0)					\
	F(cn_capture_stats, dropped, 8)					\
	C(CN_TAP_VNET_HDR)						\
	C(CN_SWITCH_PORTS_MAX)						\
	C(CN_FRAME_MAX)							\
	C(CN_PORT_VNET_HDR)						\
	C(CN_PORT_OFFLOAD)						\
	C(CN_PORT_VXLAN)						\
	C(CN_EV_PORT_DOWN)						\
	C(CN_EV_MAC_LEARNED)						\
	C(CN_EV_MAC_MOVED)						\
	C(CN_EV_MAC_AGED)						\
	C(CN_EV_MAC_EVICTED)						\
	C(CN_EV_MAC_FLUSHED)						\
	C(CN_EV_CAPTURE_DOWN)						\
	C(CN_VXLAN_REMOTES_MAX)						\
	C(CN_VLAN_ACCESS)					\
	C(CN_VLAN_TRUNK)					\
	C(CN_VLAN_MAX)						\
	C(CN_DIR_IN)						\
	C(CN_DIR_OUT)						\
	C(CN_IMP_DELAY_NS)					\
	C(CN_IMP_JITTER_NS)					\
	C(CN_IMP_DIST)						\
	C(CN_IMP_LOSS)						\
	C(CN_IMP_GILBERT)					\
	C(CN_IMP_GE_P)						\
	C(CN_IMP_GE_R)						\
	C(CN_IMP_GE_BAD)					\
	C(CN_IMP_GE_GOOD)					\
	C(CN_IMP_RATE_BPS)					\
	C(CN_IMP_LIMIT)						\
	C(CN_IMP_DUP)						\
	C(CN_IMP_REORDER)					\
	C(CN_IMP_CORRUPT)					\
	C(CN_IMP_SEED)						\
	C(CN_IMP_COUNT)						\
	C(CN_PPB)						\
	C(CN_DIST_UNIFORM)					\
	C(CN_DIST_NORMAL)					\
	C(CN_DIST_PARETO)					\
	C(CN_DIST_PARETONORMAL)					\
	C(CN_IMP_LIMIT_DEFAULT)					\
	C(CN_IMP_LIMIT_MAX)

#define ASSERT_SIZE(s, n)						\
	_Static_assert(sizeof(struct s) == (n),				\
		       "struct " #s " changed size: update layout.c and native-types.ts");
#define ASSERT_OFFSET(s, f, n)						\
	_Static_assert(offsetof(struct s, f) == (n),			\
		       #s "." #f " moved: update layout.c and native-types.ts");
#define NO_ASSERT(c)

CN_LAYOUT(ASSERT_SIZE, ASSERT_OFFSET, NO_ASSERT)

#define ENTRY_SIZE(s, n) { #s, sizeof(struct s) },
#define ENTRY_OFFSET(s, f, n)						\
	{ #s "." #f, offsetof(struct s, f) },				\
	{ "sizeof " #s "." #f, sizeof(((struct s *)0)->f) },
#define ENTRY_CONST(c) { #c, (c) },

static const struct {
	const char *name;
	long value;
} layout[] = { CN_LAYOUT(ENTRY_SIZE, ENTRY_OFFSET, ENTRY_CONST) };

long cn_layout_value(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(layout) / sizeof(layout[0]); i++)
		if (!strcmp(layout[i].name, name))
			return layout[i].value;
	return -ENOENT;
}

const char *cn_layout_name(int i)
{
	if (i < 0 || (size_t)i >= sizeof(layout) / sizeof(layout[0]))
		return NULL;
	return layout[i].name;
}
