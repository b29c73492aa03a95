/**
 * containode's run options, checked before anything is created. The CLI
 * (commander) hands over raw strings; everything here is what the engine
 * (launch.ts) may rely on.
 */
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { UsageError, parseIpv4, parseIpv4Cidr, parseIpv6Cidr, randomIdentity, validateIdentity } from '@containet/common';

export interface RawRunOptions {
  socket?: string;
  ipv4?: string;
  ipv6?: string[];
  gateway?: string[];
  root?: string;
  top?: string;
  identity?: string;
  net?: boolean; // commander: -N sets net=false
  ipc?: boolean; // -I sets ipc=false
  env?: string[];
  workdir?: string;
  rm?: boolean;
}

export interface RunOptions {
  id: string;
  socket: string | undefined;
  /** CIDRs for eth0 (v4 first). */
  addresses: string[];
  gateways: string[];
  root: string | undefined;
  /** Where upper/ and work/ go; undefined without a root. */
  top: string | undefined;
  newNet: boolean;
  newIpc: boolean;
  env: string[];
  workdir: string | undefined;
  rm: boolean;
  args: string[];
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The environment a program gets unless -e says otherwise. */
export function defaultEnv(id: string): string[] {
  return [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOME=/root',
    `TERM=${process.env['TERM'] || 'xterm'}`,
    `HOSTNAME=${id}`,
  ];
}

function mergeEnv(base: string[], extra: string[]): string[] {
  const out = new Map<string, string>();
  for (const kv of [...base, ...extra]) out.set(kv.slice(0, kv.indexOf('=')), kv);
  return [...out.values()];
}

export function parseRunOptions(raw: RawRunOptions, args: string[]): RunOptions {
  if (args.length === 0) throw new UsageError('no program given', 'e.g. containode -4 10.0.0.2/24 -s /tmp/containet.sock /bin/sh');
  const id = raw.identity === undefined ? randomIdentity() : validateIdentity(raw.identity);
  const newNet = raw.net !== false;
  const addresses: string[] = [];
  if (raw.ipv4 !== undefined) addresses.push(parseIpv4Cidr(raw.ipv4).cidr);
  for (const a of raw.ipv6 ?? []) addresses.push(parseIpv6Cidr(a).cidr);
  const gateways: string[] = [];
  for (const g of raw.gateway ?? []) {
    if (g.includes(':')) gateways.push(parseIpv6Cidr(`${g}/128`).address);
    else gateways.push(parseIpv4(g));
  }
  if (!raw.socket) {
    if (raw.ipv4 !== undefined) throw new UsageError('-4 needs -s: without a switch there is no eth0 to address', 'add -s /tmp/containet.sock');
    if (raw.ipv6?.length) throw new UsageError('-6 needs -s: without a switch there is no eth0 to address');
    if (gateways.length) throw new UsageError('-g needs -s: without a switch there is no eth0 to route through');
  } else if (!newNet) {
    throw new UsageError('-N (host network) cannot be combined with -s', 'the tap lives in the container\'s own network namespace');
  }
  for (const gw of gateways) {
    const v6 = gw.includes(':');
    if (!addresses.some((a) => a.includes(':') === v6)) {
      throw new UsageError(`gateway ${gw} needs an ${v6 ? 'IPv6 (-6)' : 'IPv4 (-4)'} address on eth0`);
    }
  }
  let root: string | undefined;
  let top: string | undefined;
  if (raw.root !== undefined) {
    root = resolve(raw.root);
    if (!isDir(root)) throw new UsageError(`root filesystem ${raw.root} is not a directory`, 'give an unpacked root filesystem, e.g. one made by `mocker unpack`');
    top = resolve(raw.top ?? `${root}-${id}`);
    if (top === root || top.startsWith(`${root}/`)) throw new UsageError(`top directory ${top} must be outside the root filesystem ${root}`);
  } else if (raw.top !== undefined) {
    throw new UsageError('-t needs -r: the top directory holds changes to a root filesystem');
  }
  const extra: string[] = [];
  for (const kv of raw.env ?? []) {
    if (!/^[^=\s]+=/.test(kv)) throw new UsageError(`invalid -e ${kv}`, 'use KEY=VALUE');
    extra.push(kv);
  }
  if (raw.workdir !== undefined && !isAbsolute(raw.workdir)) throw new UsageError(`-w ${raw.workdir}: the working directory must be an absolute path`);
  return {
    id,
    socket: raw.socket ? resolve(raw.socket) : undefined,
    addresses,
    gateways,
    root,
    top,
    newNet,
    newIpc: raw.ipc !== false,
    env: mergeEnv(defaultEnv(id), extra),
    workdir: raw.workdir,
    rm: raw.rm === true,
    args,
  };
}
