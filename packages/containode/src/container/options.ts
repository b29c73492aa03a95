/**
 * containode's run options, checked before anything is created. The CLI
 * (commander) hands over raw strings; everything here is what the engine
 * (launch.ts) may rely on.
 */
import { statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { UsageError, imageStoreDir, parseIpv4, parseIpv4Cidr, parseIpv6Cidr, randomIdentity, validateIdentity } from '@containet/common';
import { parsePublish, type PublishSpec } from '../publish/spec.js';
import { nameInterfaces, parseMtuValue, routeOf, type InterfaceOptions } from './net-option.js';
import { parseVolumes, type Volume } from './volumes.js';

export type { InterfaceOptions } from './net-option.js';

/** Interfaces per container: the spawner's MAX_TAPS (native/src/bin/containode-spawn/spec.h). */
export const MAX_INTERFACES = 16;

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
  /** --image NAME (or -r image:NAME). */
  image?: string;
  store?: string;
  entrypoint?: string;
  user?: string;
  publish?: string[];
  mtu?: string;
  /** --net SOCK[,KEY=VALUE...] (repeatable): more interfaces (net-option.ts). */
  netIf?: string[];
  /** --tty: a pty of the container driven from our terminal. */
  tty?: boolean;
  /** -v HOST_PATH:CONTAINER_PATH[:OPTIONS] (repeatable): bind mounts (volumes.ts). */
  volume?: string[];
}

/** What run options take from a stored image (mocker's resolveImage). */
export interface ImageDefaults {
  name: string;
  digest: string;
  config: { Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] | null; WorkingDir?: string | null; User?: string | null };
}

export interface RunOptions {
  id: string;
  /** The container's interfaces on switches: eth0 of -s first, then each --net. */
  interfaces: InterfaceOptions[];
  /** Default routes, each via the interface whose subnet holds the gateway. */
  routes: { ifname: string; gateway: string }[];
  root: string | undefined;
  /** Where upper/ and work/ go; undefined without a root. */
  top: string | undefined;
  newNet: boolean;
  newIpc: boolean;
  env: string[];
  workdir: string | undefined;
  rm: boolean;
  args: string[];
  /** The image the root comes from; `root` is set once it is unpacked. */
  image: { name: string; digest: string; store: string } | undefined;
  /** The user to run as, `uid[:gid]` or names (resolved against the root's /etc/passwd). */
  user: string | undefined;
  publish: PublishSpec[];
  /** Give the program a pty of the container, driven from our terminal (--tty). */
  tty: boolean;
  /** HOME came from the image or -e (else the user's passwd entry may give it). */
  explicitHome: boolean;
  /** -v: host paths bound into the container, in order. */
  volumes: Volume[];
  /** Set from `user` once the root filesystem is known. */
  resolvedUser?: { uid: number; gid: number; additionalGids: number[] };
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

/** The image named by --image NAME or -r image:NAME, if any. */
export function imageName(raw: RawRunOptions): string | undefined {
  const fromRoot = raw.root?.startsWith('image:') ? raw.root.slice('image:'.length) : undefined;
  if (raw.image !== undefined && fromRoot !== undefined) throw new UsageError('--image and -r image:NAME name an image twice', 'give one of them');
  if (raw.image !== undefined && raw.root !== undefined) throw new UsageError('--image and -r both give a root filesystem', 'give one of them');
  const name = raw.image ?? fromRoot;
  if (name !== undefined && name.trim() === '') throw new UsageError('empty image name', 'e.g. --image alpine');
  return name;
}

/** The image store: --store, else CONTAINET_IMAGES, else the default (shared with mocker). */
export function storeOf(raw: RawRunOptions): string {
  return resolve(raw.store ?? imageStoreDir());
}

function parseMtu(text: string): number {
  const mtu = parseMtuValue(text);
  if (mtu === undefined) throw new UsageError(`invalid --mtu ${text}`, 'give 68..65535 bytes, e.g. --mtu 1450 behind a VXLAN uplink');
  return mtu;
}


/**
 * The program to run. Docker's rules: PROGRAM replaces the image's Cmd,
 * --entrypoint replaces its Entrypoint (and then drops its Cmd), the
 * entrypoint goes first.
 */
function programOf(raw: RawRunOptions, args: string[], image: ImageDefaults | undefined): string[] {
  if (!image) {
    if (raw.entrypoint !== undefined) throw new UsageError('--entrypoint needs --image', 'without an image, give the program itself');
    return args;
  }
  const entrypoint = raw.entrypoint !== undefined ? (raw.entrypoint === '' ? [] : [raw.entrypoint]) : image.config.Entrypoint ?? [];
  const cmd = args.length ? args : raw.entrypoint !== undefined ? [] : image.config.Cmd ?? [];
  return [...entrypoint, ...cmd];
}

export function parseRunOptions(raw: RawRunOptions, args: string[], image?: ImageDefaults): RunOptions {
  const fromImage = imageName(raw);
  if (fromImage !== undefined && !image) throw new Error('internal: the image must be resolved before the options are parsed');
  const program = programOf(raw, args, image);
  if (program.length === 0) {
    if (image) throw new UsageError(`image ${image.name} has no Entrypoint or Cmd: give a program`, `e.g. containode --image ${fromImage} /bin/sh`);
    throw new UsageError('no program given', 'e.g. containode -4 10.0.0.2/24 -s /tmp/containet.sock /bin/sh');
  }
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
  const publish = (raw.publish ?? []).map(parsePublish);
  const mtu = raw.mtu === undefined ? undefined : parseMtu(raw.mtu);
  const nets = raw.netIf ?? [];
  if (!raw.socket) {
    // -4, -6 and --mtu describe -s's eth0; --net interfaces carry their own (ip=, ip6=, mtu=).
    const own = nets.length ? '; a --net interface takes ip=, ip6= and mtu= instead' : '';
    if (raw.ipv4 !== undefined) throw new UsageError(`-4 needs -s: without a switch there is no eth0 to address${own}`, 'add -s /tmp/containet.sock');
    if (raw.ipv6?.length) throw new UsageError(`-6 needs -s: without a switch there is no eth0 to address${own}`);
    if (gateways.length && !nets.length) throw new UsageError('-g needs -s or --net: without a switch there is no interface to route through');
    if (publish.length && !nets.length) throw new UsageError('-p needs -s and -4: a published port is relayed to the container\'s address on the switch', 'add -s /tmp/containet.sock -4 10.0.0.2/24');
    if (mtu !== undefined) throw new UsageError(`--mtu needs -s: without a switch there is no eth0${own}`);
  }
  if ((raw.socket || nets.length) && !newNet) {
    throw new UsageError(`-N (host network) cannot be combined with ${raw.socket ? '-s' : '--net'}`, 'the taps live in the container\'s own network namespace');
  }
  const eth0 = raw.socket ? { socket: resolve(raw.socket), ifname: 'eth0', addresses, mac: undefined, mtu, vlan: undefined } : undefined;
  const interfaces = nameInterfaces(eth0, nets);
  if (interfaces.length > MAX_INTERFACES) throw new UsageError(`${interfaces.length} interfaces: a container has at most ${MAX_INTERFACES}`);
  const routes = gateways.map((g) => routeOf(g, interfaces, nets.length === 0));
  const firstV4 = interfaces.flatMap((i) => i.addresses).find((a) => !a.includes(':'));
  if (publish.length && firstV4 === undefined) throw new UsageError('-p needs -4 (or ip= on a --net interface): the published port is relayed to the container\'s IPv4 address', 'add -4 10.0.0.2/24');
  const seen = new Set<string>();
  for (const p of publish) {
    const key = `${p.hostIp}:${p.hostPort}/${p.proto}`;
    if (seen.has(key)) throw new UsageError(`host port ${key} is published twice`);
    seen.add(key);
  }
  let root: string | undefined;
  let top: string | undefined;
  const store = fromImage !== undefined ? storeOf(raw) : undefined;
  if (raw.store !== undefined && store === undefined) throw new UsageError('--store needs --image: it says where images are kept');
  if (store !== undefined) {
    // The root is the image's shared unpacked copy; it is only known after
    // unpacking, which happens once these options are known to be good.
    top = resolve(raw.top ?? join(store, 'containers', id));
    if (top === store || top.startsWith(`${join(store, 'rootfs')}/`)) throw new UsageError(`top directory ${top} must be outside the image store's root filesystems`);
  } else if (raw.root !== undefined) {
    root = resolve(raw.root);
    if (!isDir(root)) throw new UsageError(`root filesystem ${raw.root} is not a directory`, 'give an unpacked root filesystem, e.g. one made by `mocker unpack`, or --image NAME');
    top = resolve(raw.top ?? `${root}-${id}`);
    if (top === root || top.startsWith(`${root}/`)) throw new UsageError(`top directory ${top} must be outside the root filesystem ${root}`);
  } else if (raw.top !== undefined) {
    throw new UsageError('-t needs -r or --image: the top directory holds changes to a root filesystem');
  }
  const volumes = parseVolumes(raw.volume ?? []);
  const extra: string[] = [];
  for (const kv of raw.env ?? []) {
    if (!/^[^=\s]+=/.test(kv)) throw new UsageError(`invalid -e ${kv}`, 'use KEY=VALUE');
    extra.push(kv);
  }
  if (raw.workdir !== undefined && !isAbsolute(raw.workdir)) throw new UsageError(`-w ${raw.workdir}: the working directory must be an absolute path`);
  if (raw.user !== undefined && !/^[^:\s]+(:[^:\s]+)?$/.test(raw.user)) throw new UsageError(`invalid -u ${raw.user}`, 'use UID[:GID] or NAME[:GROUP]');
  if (raw.user !== undefined && fromImage === undefined && raw.root === undefined && !/^\d+(:\d+)?$/.test(raw.user)) {
    throw new UsageError(`-u ${raw.user}: names need a root filesystem (-r or --image) to look them up in`, 'use UID[:GID]');
  }
  const imageEnv = (image?.config.Env ?? []).filter((kv) => kv.includes('='));
  let workdir = raw.workdir ?? (image?.config.WorkingDir || undefined);
  if (workdir !== undefined && !isAbsolute(workdir)) workdir = `/${workdir}`;
  return {
    id,
    interfaces,
    routes,
    root,
    top,
    newNet,
    newIpc: raw.ipc !== false,
    env: mergeEnv(mergeEnv(defaultEnv(id), imageEnv), extra),
    workdir: workdir || undefined,
    rm: raw.rm === true,
    args: program,
    image: image && store ? { name: image.name, digest: image.digest, store } : undefined,
    user: raw.user ?? (image?.config.User || undefined),
    publish,
    tty: raw.tty === true,
    volumes,
    explicitHome: [...imageEnv, ...extra].some((kv) => kv.startsWith('HOME=')),
  };
}
