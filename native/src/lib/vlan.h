/* vlan.h - 802.1Q membership of a port (IEEE 802.1Q-2018 6.9 tags, 8.6.2
 * ingress classification, 8.6.4 egress untagging), see the CN_VLAN_*
 * description in containet.h.
 *
 * A frame is classified once, when the switch receives it: its VLAN (the
 * tag's, or the port's PVID for an untagged one) and whether it carries a
 * tag. Each egress port then takes it tagged or untagged; when that
 * differs the switch pushes or pops the 4-byte tag (switch.c: in the
 * iovecs of the write for vnet taps, no copy).
 */
#ifndef VLAN_H
#define VLAN_H

#include <stdint.h>
#include <string.h>

#include "containet.h"

#define ETH_P_8021Q_HI 0x81
#define ETH_P_8021Q_LO 0x00
#define VLAN_TAG_LEN 4

struct port_vlan {
	uint16_t pvid;		/* ACCESS: its VLAN; TRUNK: native VLAN, 0 for none */
	uint8_t trunk;
	uint64_t allowed[64];	/* TRUNK: VLANs carried tagged, bit per id */
};

/* vlan_set_access() - make @v an access port of VLAN @vid.  Return: nothing. */
static inline void vlan_set_access(struct port_vlan *v, uint16_t vid)
{
	memset(v, 0, sizeof(*v));
	v->pvid = vid;
}

/* vlan_member() - whether frames of VLAN @vid go in and out of @v.
 * Return: 1 or 0.
 */
static inline int vlan_member(const struct port_vlan *v, uint16_t vid)
{
	if (vid == v->pvid)
		return 1;
	return v->trunk && (v->allowed[vid >> 6] >> (vid & 63) & 1);
}

/* vlan_egress_tagged() - whether a frame of VLAN @vid leaves @v tagged:
 * on a trunk, every VLAN but the native one.  Return: 1 or 0.
 */
static inline int vlan_egress_tagged(const struct port_vlan *v, uint16_t vid)
{
	return v->trunk && vid != v->pvid;
}

/* vlan_frame_tag() - the VLAN id of a tagged frame (a priority tag gives
 * 0), or -1 when @frame carries no 802.1Q tag.  Return: that.
 */
static inline int vlan_frame_tag(const uint8_t *frame, size_t len)
{
	if (len < 18 || frame[12] != ETH_P_8021Q_HI || frame[13] != ETH_P_8021Q_LO)
		return -1;
	return (frame[14] & 0x0f) << 8 | frame[15];
}

/* vlan_classify() - the VLAN of a frame received on @v whose tag says @tag
 * (vlan_frame_tag()).  Return: the VLAN, or 0 to drop the frame.
 */
static inline uint16_t vlan_classify(const struct port_vlan *v, int tag)
{
	if (tag <= 0)	/* untagged or priority-tagged: the port's VLAN */
		return v->pvid;
	if (!v->trunk)
		return 0;
	return (v->allowed[tag >> 6] >> (tag & 63) & 1) || tag == v->pvid ? (uint16_t)tag : 0;
}

#endif /* VLAN_H */
