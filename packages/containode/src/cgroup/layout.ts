/**
 * Which cgroup hierarchies a machine has, found by looking at the files
 * under the cgroup root (/sys/fs/cgroup unless a test gives a fake tree):
 *
 * - pure v2: the root itself is cgroup2 (it has `cgroup.controllers`);
 * - hybrid: v1 controllers each under ROOT/<controller>, plus cgroup2 at
 *   ROOT/unified (systemd's "hybrid" mode);
 * - pure v1: only ROOT/<controller> hierarchies.
 *
 * A v1 hierarchy is recognised by its `tasks` file (v1 only, see
 * Documentation/admin-guide/cgroup-v1/cgroups.rst) and by the mount table
 * naming the controller among the mount's options (a hierarchy's root has
 * no pids.* files, so the files alone don't tell), or, for trees that are
 * not mounts (tests), by an interface file of the controller; co-mounted
 * ones (cpu,cpuacct) appear as one directory under each name. A controller is usable in v2 when it is listed
 * in the root's cgroup.controllers (Documentation/admin-guide/cgroup-v2.rst,
 * "Enabling and Disabling"). A controller bound to a v1 hierarchy never
 * appears in v2's cgroup.controllers, so each is found in exactly one place.
 *
 * Besides the controllers containode sets limits with, the layout lists
 * every hierarchy the host has (`hierarchies`: cpu, cpuacct, cpuset,
 * memory, devices, freezer, blkio, net_cls, name=systemd, ... and the
 * unified one): a container joins all of them, as runc does, so that it
 * sees its own cgroup in each and its processes can be frozen and counted.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';

/** The controllers containode sets limits with. */
export type Controller = 'memory' | 'cpu' | 'pids';
export const CONTROLLERS: readonly Controller[] = ['memory', 'cpu', 'pids'];

export type LayoutKind = 'v2' | 'hybrid' | 'v1' | 'none';

/** Where one controller lives. */
export type ControllerHome = { version: 1; path: string } | { version: 2; path: string };

/** One mounted cgroup hierarchy. */
export interface Hierarchy {
  version: 1 | 2;
  /** Its mount point (the real path, e.g. /sys/fs/cgroup/cpu,cpuacct). */
  path: string;
  /** v1: the controllers bound to it and `name=X` for a named one; v2: cgroup.controllers. */
  controllers: readonly string[];
}

export interface CgroupLayout {
  kind: LayoutKind;
  /** The cgroup root the layout was read from. */
  root: string;
  /** The cgroup2 mount (ROOT or ROOT/unified), when there is one. */
  unified: string | undefined;
  /** Controllers offered by the v2 root (its cgroup.controllers). */
  v2Controllers: ReadonlySet<string>;
  /** Each controller containode uses, where it is; missing = not available. */
  controllers: Partial<Record<Controller, ControllerHome>>;
  /** Every hierarchy, v1 ones first, the unified one last. */
  hierarchies: Hierarchy[];
}

// One interface file each controller always has in v1 (used to tell a
// real hierarchy from an empty directory or a named one like name=systemd).
const V1_PROBE: Record<Controller, string> = {
  memory: 'memory.limit_in_bytes',
  cpu: 'cpu.shares',
  pids: 'pids.max',
};

function readWords(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

function isV2(dir: string): boolean {
  return existsSync(join(dir, 'cgroup.controllers'));
}

/** Mount point → controllers of each v1 cgroup mount in a mountinfo text (proc(5)). */
export function v1Mounts(mountinfo: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const [fstype, , superOpts] = post.split(' ');
    const mountPoint = pre.split(' ')[4];
    if (fstype !== 'cgroup' || !mountPoint || !superOpts) continue;
    // Octal escapes (\040 for a space) as the kernel writes them.
    const path = mountPoint.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.set(path, new Set(superOpts.split(',')));
  }
  return out;
}

function readMountinfo(): string {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return '';
  }
}

/** Mount options of a v1 cgroup mount that are not controllers (mount(8), cgroups(7)). */
const V1_NON_CONTROLLER = /^(rw|ro|relatime|noatime|nosuid|nodev|noexec|clone_children|xattr|noprefix|cpuset_v2_mode|release_agent=.*)$/;

function isV1Hierarchy(dir: string, ctrl: Controller, mounts: Map<string, Set<string>>): boolean {
  if (!existsSync(join(dir, 'tasks'))) return false;
  if (existsSync(join(dir, V1_PROBE[ctrl]))) return true;
  try {
    return mounts.get(realpathSync(dir))?.has(ctrl) === true;
  } catch {
    return false;
  }
}

/**
 * Read the layout under `root`; `mountinfo` is /proc/self/mountinfo's text
 * (both injectable for tests).
 */
export function detectCgroupLayout(root: string = CGROUP_ROOT, mountinfo: string = readMountinfo()): CgroupLayout {
  const mounts = v1Mounts(mountinfo);
  let unified: string | undefined;
  if (isV2(root)) unified = root;
  else if (isV2(join(root, 'unified'))) unified = join(root, 'unified');
  const v2Controllers = new Set(unified ? readWords(join(unified, 'cgroup.controllers')) : []);

  const controllers: Partial<Record<Controller, ControllerHome>> = {};
  let v1 = false;
  for (const ctrl of CONTROLLERS) {
    const dir = join(root, ctrl);
    if (unified !== root && isV1Hierarchy(dir, ctrl, mounts)) {
      // cpu is usually a symlink to cpu,cpuacct: keep the real directory so
      // two controllers in one hierarchy share one cgroup directory.
      controllers[ctrl] = { version: 1, path: realpathSync(dir) };
      v1 = true;
    } else if (unified && v2Controllers.has(ctrl)) {
      controllers[ctrl] = { version: 2, path: unified };
    }
  }
  // Every v1 hierarchy: those found above, then the mount table's others
  // under ROOT (named ones such as name=systemd included).
  const hierarchies: Hierarchy[] = [];
  const addV1 = (path: string, controllers: readonly string[]) => {
    if (!hierarchies.some((h) => h.path === path)) hierarchies.push({ version: 1, path, controllers });
  };
  if (unified !== root) {
    for (const ctrl of CONTROLLERS) {
      const home = controllers[ctrl];
      if (home?.version === 1) addV1(home.path, [...(mounts.get(home.path) ?? [ctrl])].filter((o) => !V1_NON_CONTROLLER.test(o)));
    }
    for (const [path, opts] of mounts) {
      if (!path.startsWith(`${root}/`) || !existsSync(join(path, 'tasks'))) continue;
      addV1(path, [...opts].filter((o) => !V1_NON_CONTROLLER.test(o)));
    }
  }
  if (unified) hierarchies.push({ version: 2, path: unified, controllers: [...v2Controllers] });
  let kind: LayoutKind;
  if (unified === root) kind = 'v2';
  else if (unified) kind = 'hybrid';
  else kind = v1 ? 'v1' : 'none';
  return { kind, root, unified, v2Controllers, controllers, hierarchies };
}

/**
 * The hierarchy a controller (`cpuset`, `freezer`, ...) is bound to: a v1
 * one naming it, else the unified one when it offers it.
 */
export function hierarchyOf(layout: CgroupLayout, controller: string): Hierarchy | undefined {
  return layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes(controller)) ??
    layout.hierarchies.find((h) => h.version === 2 && h.controllers.includes(controller));
}

/** "hybrid (v1: memory cpu pids; v2 at /sys/fs/cgroup/unified)", for messages. */
export function describeLayout(layout: CgroupLayout): string {
  const v1 = CONTROLLERS.filter((c) => layout.controllers[c]?.version === 1);
  const v2 = CONTROLLERS.filter((c) => layout.controllers[c]?.version === 2);
  const parts: string[] = [];
  if (v1.length) parts.push(`v1: ${v1.join(' ')}`);
  if (layout.unified) parts.push(`v2 at ${layout.unified}${v2.length ? `: ${v2.join(' ')}` : ''}`);
  return `${layout.kind}${parts.length ? ` (${parts.join('; ')})` : ''}`;
}
