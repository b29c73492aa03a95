/**
 * `--net SOCK[,if=NAME][,ip=ADDR/LEN][,ip6=ADDR/LEN][,mac=MAC][,mtu=N]
 * [,vlan=ID|trunk=ID:ID...[,native=ID]]`: one interface of a container, a
 * tap in its network namespace plugged into the containet switch at SOCK.
 *
 * The first comma-separated field is the socket's path; the rest are
 * KEY=VALUE. `ip` and `ip6` may repeat (several addresses); every other
 * key may appear once. A trunk's VLANs are separated by `:` (`trunk=10:20`);
 * since `,` separates the keys, a bare number after `trunk=` continues the
 * list too (`trunk=10,20,native=30` is 10 and 20, native 30): no key is a
 * number, so this reads one way only. A socket path with a comma or "=" cannot
 * be given here (use -s for eth0 on such a switch).
 *
 * Every mistake is one UsageError (exit status 2) naming the key and value,
 * raised before anything is created.
 */
import { resolve } from 'node:path';
import { UsageError, formatMac, ipv4InSubnet, parseIpv4Cidr, parseIpv6Cidr, parseMac, type PortVlan } from '@containet/common';

/** One interface of a container on a switch (eth0 of -s, or a --net). */
export interface InterfaceOptions {
  /** The switch's control socket, absolute. */
  socket: string;
  /** Its name inside the container. */
  ifname: string;
  /** CIDRs, IPv4 first. */
  addresses: string[];
  /** aa:bb:cc:dd:ee:ff; undefined: a random locally administered one. */
  mac: string | undefined;
  mtu: number | undefined;
  /** 802.1Q membership of its switch port; undefined: the switch's default (access VLAN 1). */
  vlan: PortVlan | undefined;
}

const KEYS = ['if', 'ip', 'ip6', 'mac', 'mtu', 'vlan', 'trunk', 'native'];

function bad(text: string, what: string, hint: string): UsageError {
  return new UsageError(`--net ${text}: ${what}`, hint);
}

/** 68 is the IPv4 minimum (RFC 791); 65535 the largest IP datagram. */
export function parseMtuValue(value: string): number | undefined {
  return /^\d{1,5}$/.test(value) && Number(value) >= 68 && Number(value) <= 65535 ? Number(value) : undefined;
}

/** IEEE 802.1Q: VLAN ids 1..4094 (0 and 4095 are reserved). */
function vlanId(value: string): number | undefined {
  return /^\d{1,4}$/.test(value) && Number(value) >= 1 && Number(value) <= 4094 ? Number(value) : undefined;
}

/**
 * An interface name the kernel takes (IFNAMSIZ 16 with its NUL,
 * dev_valid_name(): not `.`/`..`, no `/`, `:` or whitespace) that is not
 * the container's loopback.
 */
export function validIfname(name: string): boolean {
  return name.length >= 1 && name.length <= 15 && !/[\s/:,=]/.test(name) && name !== '.' && name !== '..' && name !== 'lo';
}

/** Split KEY=VALUE fields, joining a trunk's bare numbers back into its list. */
function fields(text: string, parts: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    const last = out[out.length - 1];
    if (eq < 0 && last?.[0] === 'trunk' && /^\d+$/.test(part)) {
      last[1] += `:${part}`;
      continue;
    }
    if (eq <= 0) throw bad(text, `${JSON.stringify(part)} is not KEY=VALUE`, `keys: ${KEYS.join(', ')}`);
    out.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  return out;
}

/** One --net value; `ifname` is undefined unless if= names it (the caller numbers the rest). */
export function parseNetOption(text: string): Omit<InterfaceOptions, 'ifname'> & { ifname: string | undefined } {
  const [socket = '', ...rest] = text.split(',');
  if (socket === '' || socket.includes('=')) throw bad(text, 'the first field must be the switch\'s control socket', 'e.g. --net /tmp/containet.sock,ip=10.0.1.2/24');
  const seen = new Set<string>();
  const v4: string[] = [];
  const v6: string[] = [];
  let ifname: string | undefined;
  let mac: string | undefined;
  let mtu: number | undefined;
  let access: number | undefined;
  let trunk: number[] | undefined;
  let native: number | undefined;
  for (const [key, value] of fields(text, rest)) {
    if (!KEYS.includes(key)) throw bad(text, `unknown key ${key}=${value}`, `keys: ${KEYS.join(', ')}`);
    if (seen.has(key) && key !== 'ip' && key !== 'ip6') throw bad(text, `${key}= is given twice`, 'give each key once (only ip= and ip6= repeat)');
    seen.add(key);
    switch (key) {
      case 'if':
        if (!validIfname(value)) throw bad(text, `invalid if=${value}`, '1-15 characters, no "/", ":", "," or spaces, not lo');
        ifname = value;
        break;
      case 'ip':
        try {
          v4.push(parseIpv4Cidr(value).cidr);
        } catch (err) {
          throw bad(text, `invalid ip=${value}`, (err as UsageError).hint ?? 'use ADDR/LEN, e.g. ip=10.0.1.2/24');
        }
        break;
      case 'ip6':
        try {
          v6.push(parseIpv6Cidr(value).cidr);
        } catch (err) {
          throw bad(text, `invalid ip6=${value}`, (err as UsageError).hint ?? 'use ADDR/LEN, e.g. ip6=fd00:1::2/64');
        }
        break;
      case 'mac': {
        let bytes: Buffer;
        try {
          bytes = parseMac(value);
        } catch {
          throw bad(text, `invalid mac=${value}`, 'six hex octets, e.g. mac=02:00:00:00:01:02');
        }
        // IEEE 802: bit 0 of the first octet marks a group (multicast) address.
        if (bytes[0]! & 1) throw bad(text, `mac=${value} is a multicast address`, 'give a unicast MAC (even first octet), e.g. 02:...');
        if (bytes.every((b) => b === 0)) throw bad(text, `mac=${value} is all zeros`, 'give a unicast MAC, e.g. 02:00:00:00:01:02');
        mac = formatMac(bytes);
        break;
      }
      case 'mtu':
        mtu = parseMtuValue(value);
        if (mtu === undefined) throw bad(text, `invalid mtu=${value}`, 'give 68..65535 bytes, e.g. mtu=1450 behind a VXLAN uplink');
        break;
      case 'vlan':
        access = vlanId(value);
        if (access === undefined) throw bad(text, `invalid vlan=${value}`, 'a VLAN id is 1..4094');
        break;
      case 'trunk': {
        const ids = value.split(':');
        trunk = [];
        for (const id of ids) {
          const n = vlanId(id);
          if (n === undefined) throw bad(text, `invalid trunk=${value}: VLAN ${id || '(empty)'}`, 'a trunk lists VLAN ids 1..4094, e.g. trunk=10:20');
          if (trunk.includes(n)) throw bad(text, `trunk=${value} lists VLAN ${n} twice`, 'list each VLAN once');
          trunk.push(n);
        }
        break;
      }
      case 'native':
        native = vlanId(value);
        if (native === undefined) throw bad(text, `invalid native=${value}`, 'a VLAN id is 1..4094');
        break;
    }
  }
  if (access !== undefined && trunk !== undefined) throw bad(text, 'vlan= and trunk= both given', 'a port is an access port (vlan=ID) or a trunk (trunk=ID:ID...)');
  if (native !== undefined && trunk === undefined) throw bad(text, `native=${native} needs trunk=`, 'e.g. trunk=10:20,native=30');
  const vlan: PortVlan | undefined =
    access !== undefined ? { mode: 'access', vlan: access } : trunk !== undefined ? { mode: 'trunk', allowed: trunk, ...(native !== undefined ? { native } : {}) } : undefined;
  return { socket: resolve(socket), ifname, addresses: [...v4, ...v6], mac, mtu, vlan };
}

/**
 * The container's interfaces: eth0 from -s (when given) first, then each
 * --net in order; unnamed ones get the lowest free ethN. Refuses two
 * interfaces of one name.
 */
export function nameInterfaces(eth0: InterfaceOptions | undefined, nets: string[]): InterfaceOptions[] {
  const parsed = nets.map((text) => ({ text, ...parseNetOption(text) }));
  const out: InterfaceOptions[] = eth0 ? [eth0] : [];
  const taken = new Set(out.map((i) => i.ifname));
  for (const p of parsed) {
    if (p.ifname === undefined) continue;
    if (taken.has(p.ifname)) {
      const by = eth0?.ifname === p.ifname ? ' (-s makes eth0)' : '';
      throw bad(p.text, `if=${p.ifname} names a second interface ${p.ifname}${by}`, 'give each interface its own name');
    }
    taken.add(p.ifname);
  }
  let next = 0;
  for (const { text: _text, ...p } of parsed) {
    let ifname = p.ifname;
    if (ifname === undefined) {
      while (taken.has(`eth${next}`)) next++;
      ifname = `eth${next}`;
      taken.add(ifname);
    }
    out.push({ ...p, ifname });
  }
  return out;
}

/**
 * The interface a default route via `gateway` leaves by: the first whose
 * IPv4 subnet holds it (IPv6: the first with an IPv6 address, as the
 * gateway is often link-local), else the first of its family.
 */
export function routeOf(gateway: string, interfaces: InterfaceOptions[], onlyEth0: boolean): { ifname: string; gateway: string } {
  const v6 = gateway.includes(':');
  const family = interfaces.filter((i) => i.addresses.some((a) => a.includes(':') === v6));
  const inSubnet = v6 ? undefined : family.find((i) => i.addresses.some((a) => !a.includes(':') && ipv4InSubnet(gateway, a)));
  const via = inSubnet ?? family[0];
  if (!via) {
    const flag = v6 ? (onlyEth0 ? '-6' : '-6 or ip6=') : onlyEth0 ? '-4' : '-4 or ip=';
    throw new UsageError(`gateway ${gateway} needs an ${v6 ? 'IPv6' : 'IPv4'} (${flag}) address ${onlyEth0 ? 'on eth0' : 'on one of the interfaces'}`);
  }
  return { ifname: via.ifname, gateway };
}
