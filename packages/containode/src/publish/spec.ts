/** `-p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]`, as docker run -p writes it. */
import { UsageError, parseIpv4 } from '@containet/common';

export interface PublishSpec {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

function port(text: string, what: string, whole: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535) {
    throw new UsageError(`invalid ${what} in -p ${whole}`, 'ports are 1..65535, e.g. -p 8080:80/tcp');
  }
  return n;
}

export function parsePublish(text: string): PublishSpec {
  const [addrPart = '', protoPart, extra] = text.split('/');
  if (extra !== undefined) throw new UsageError(`invalid -p ${text}`, 'use [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]');
  const proto = (protoPart ?? 'tcp').toLowerCase();
  if (proto !== 'tcp' && proto !== 'udp') throw new UsageError(`invalid protocol "${protoPart}" in -p ${text}`, 'use tcp or udp');
  const parts = addrPart.split(':');
  let hostIp = '0.0.0.0';
  if (parts.length === 3) hostIp = parseIpv4(parts.shift()!);
  if (parts.length !== 2) throw new UsageError(`invalid -p ${text}`, 'use [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]');
  return { hostIp, hostPort: port(parts[0]!, 'host port', text), containerPort: port(parts[1]!, 'container port', text), proto };
}
