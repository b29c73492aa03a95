/**
 * Nodes detached with `containet detach --permanent`: their attaches are
 * refused (CN_DETACHED_PERMANENTLY) until `containet undetach NODE`, also
 * by the next switch on the same socket, as `docker network disconnect`
 * stays disconnected whatever restarts. Without this a re-attacher
 * (containode's switch link, the OCI keeper) brings a detached container
 * back when the switch restarts.
 *
 * The list lives in the state directory (tmpfs /run/containet by default:
 * after a reboot no container it names is running). An entry records the
 * node's pid and that process's start time (proc(5) stat field 22) when
 * the attach gave a pid, so it refuses only the same container's
 * re-attaches: once that process is gone the entry is dropped, and a new
 * container that reuses the name attaches normally. An entry without a
 * pid refuses the name until it is lifted.
 *
 * A node has one port per interface: `detach --permanent NODE:IFNAME`
 * refuses that interface's attaches only (an entry with @ifname), a detach
 * named by NODE or port id refuses the node's every interface.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainetError, gatewayTag, stateDir } from '@containet/common';
import { processStartTime } from './proc.js';

export interface PermanentDetach {
  node: string;
  /** Only this interface of the node; absent: all of them. */
  ifname?: string;
  pid?: number;
  /** The pid's start time in clock ticks since boot, when it had a pid. */
  startTime?: number;
  /** When it was detached (ms since the epoch). */
  at: number;
}

export class PermanentDetaches {
  readonly path: string;
  #entries: PermanentDetach[];

  /** The list of the switch on `socketPath`, without entries whose process has gone. */
  constructor(socketPath: string, dir = stateDir()) {
    this.path = join(dir, `detached-${gatewayTag(socketPath)}.json`);
    let entries: PermanentDetach[] = [];
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as unknown;
      if (Array.isArray(parsed)) entries = parsed.filter((e): e is PermanentDetach => typeof (e as PermanentDetach)?.node === 'string');
    } catch {
      // none yet, or unreadable: nothing is refused
    }
    this.#entries = entries.filter((e) => !this.#gone(e));
    if (this.#entries.length !== entries.length) {
      try {
        this.#save();
      } catch {
        // pruning is tidying: the stale entries refuse nothing, and a switch must start
      }
    }
  }

  get entries(): readonly PermanentDetach[] {
    return this.#entries;
  }

  /** Whether an entry's process has gone (or its pid is another process now). */
  #gone(e: PermanentDetach): boolean {
    if (e.pid === undefined) return false;
    const start = processStartTime(e.pid);
    return start === undefined || (e.startTime !== undefined && start !== e.startTime);
  }

  /** Throws CN_DETACHED_PERMANENTLY when an attach of `node`'s interface `ifname` (from `pid`) is refused. */
  check(node: string, pid: number | undefined, ifname = 'eth0'): void {
    const e = this.#entries.find((x) => x.node === node && (x.ifname === undefined || x.ifname === ifname));
    if (!e) return;
    if (this.#gone(e)) {
      this.lift(e.ifname === undefined ? node : `${node}:${e.ifname}`);
      return;
    }
    // A pid-bound entry refuses that container only; another process of the same name is a new container.
    if (e.pid !== undefined && pid !== undefined && pid !== e.pid) return;
    const name = e.ifname === undefined ? node : `${node}:${e.ifname}`;
    throw new ContainetError('CN_DETACHED_PERMANENTLY', `${e.ifname === undefined ? 'node' : 'interface'} ${name} was detached permanently (containet detach --permanent)`, {
      hint: `let it attach again with: containet undetach ${name}`,
    });
  }

  /** Refuse `node`'s attaches (of interface `ifname` only, when given) from now on. */
  add(node: string, pid: number | undefined, ifname?: string): void {
    const startTime = pid === undefined ? undefined : processStartTime(pid);
    this.#entries = this.#entries.filter((e) => e.node !== node || (ifname !== undefined && e.ifname !== ifname));
    this.#entries.push({
      node,
      ...(ifname === undefined ? {} : { ifname }),
      ...(pid !== undefined && startTime !== undefined ? { pid, startTime } : {}),
      at: Date.now(),
    });
    this.#save();
  }

  /** Lift NODE (every entry of the node) or NODE:IFNAME (that interface's).  Return: whether one was on the list. */
  lift(which: string): boolean {
    const colon = which.indexOf(':');
    const node = colon < 0 ? which : which.slice(0, colon);
    const ifname = colon < 0 ? undefined : which.slice(colon + 1);
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.node !== node || (ifname !== undefined && e.ifname !== ifname));
    if (this.#entries.length === before) return false;
    this.#save();
    return true;
  }

  /** Written whole to a temporary file and renamed, so a crash leaves the old list or the new one. */
  #save(): void {
    if (this.#entries.length === 0) {
      rmSync(this.path, { force: true });
      return;
    }
    mkdirSync(join(this.path, '..'), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#entries, null, 2) + '\n');
    renameSync(tmp, this.path);
  }
}
