/**
 * One container's cgroup, the one cgroup manager of both commands: created
 * (a directory in every hierarchy, controllers, limits) before the
 * container starts, joined by its init through cgroup.procs (the spawner
 * writes the pid before the program runs), frozen and thawed (pause,
 * resume), read for OOM kills after it ends, and removed. Removal waits for the kernel to let go: rmdir(2) of
 * a cgroup fails with EBUSY while it still has tasks, which it has for a
 * moment after the last process was reaped, or for good when something in
 * it escaped the PID namespace teardown; those are killed.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ContainetError, errnoText } from '@containet/common';
import { detectCgroupLayout, type CgroupLayout } from './layout.js';
import { CONTAINODE_LABELS, limitsToResources, memoryEventsFile, planResources, type CgroupLimits, type CgroupPlan, type CgroupResources, type CgroupWrite, type ResourceLabels } from './plan.js';
import { sleepSync } from '../container/sleep.js';

/** The parent of every container cgroup containode makes, in each hierarchy. */
export const CGROUP_PARENT = 'containet';

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'EIO';
}

function osErrnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return typeof e.errno === 'number' ? errnoText(e.errno) : e.message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}


export interface CgroupOptions {
  layout?: CgroupLayout;
  /** Names for messages: containode's options (default) or OCI's fields. */
  labels?: ResourceLabels;
  /**
   * An existing cgroup with processes is joined, as runc does with a
   * cgroupsPath its caller prepared (OCI); else it is refused (containode:
   * an identity's cgroup is its own).
   */
  joinExisting?: boolean;
}

/** pids listed in a cgroup.procs file (empty when it is gone). */
export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Kill every task of a cgroup: cgroup.kill (v2, Linux 5.14) or SIGKILL per pid. */
function killTasks(dir: string): void {
  const kill = join(dir, 'cgroup.kill');
  if (existsSync(kill)) {
    try {
      writeFileSync(kill, '1');
      return;
    } catch {
      // fall back to the pids
    }
  }
  for (const pid of cgroupPids(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Remove cgroup directory `dir`, killing what is left in it, retrying while
 * the kernel still counts tasks. Resolves once it is gone (or never existed).
 */
export async function removeCgroupDir(dir: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' && code !== 'ENOTEMPTY') {
        throw new ContainetError('CN_CGROUP', `cannot remove cgroup ${dir}: ${osErrnoText(err)}`, { cause: err });
      }
      // A stale cgroup may have children of its own (a container that made
      // sub-cgroups): those go first.
      for (const child of subdirs(dir)) await removeCgroupDir(join(dir, child), Math.max(0, deadline - Date.now()));
      if (Date.now() > deadline) {
        throw new ContainetError('CN_CGROUP_BUSY', `cannot remove cgroup ${dir}: tasks ${cgroupPids(dir).join(' ') || '(none listed)'} still in it`, {
          hint: `kill them and rmdir ${dir}`,
        });
      }
      killTasks(dir);
      await sleep(delay);
      delay = Math.min(delay * 2, 200);
    }
  }
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

/** OOM events of a container's memory cgroup. */
export interface OomReport {
  /** Processes the OOM killer killed (undefined when the kernel does not count them). */
  kills: number | undefined;
  /** The limit was hit at least once (v1 failcnt, v2 `max` events). */
  hitLimit: boolean;
}

function keyedCounter(text: string, key: string): number | undefined {
  const m = text.match(new RegExp(`^${key} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}

const NO_LAYOUT: CgroupLayout = { kind: 'none', root: '', unified: undefined, v2Controllers: new Set(), controllers: {}, hierarchies: [] };

export class ContainerCgroup {
  readonly layout: CgroupLayout;
  /** Relative name in every hierarchy, e.g. containet/ID. */
  readonly name: string;
  readonly plan: CgroupPlan;
  #removed = false;

  private constructor(layout: CgroupLayout, name: string, plan: CgroupPlan) {
    this.layout = layout;
    this.name = name;
    this.plan = plan;
  }

  /**
   * A cgroup made earlier (by another command), from its record. Without
   * `layout` nothing is read from the host (oom() then knows nothing).
   */
  static fromRecord(rec: { name: string; dirs: string[]; freezer?: string }, layout: CgroupLayout = NO_LAYOUT): ContainerCgroup {
    return new ContainerCgroup(layout, rec.name, { dirs: [...rec.dirs], enable: [], cpuset: undefined, writes: [], freezer: rec.freezer });
  }

  /** What a container record keeps of it. */
  get record(): { name: string; dirs: string[]; freezer?: string } {
    return { name: this.name, dirs: [...this.plan.dirs], ...(this.plan.freezer ? { freezer: this.plan.freezer } : {}) };
  }

  /**
   * Plan without touching anything: throws on a limit this machine can't
   * apply, so options are refused before any resource exists.
   */
  static check(limits: CgroupLimits, name: string, layout: CgroupLayout = detectCgroupLayout()): CgroupPlan {
    return planResources(layout, name, limitsToResources(limits), CONTAINODE_LABELS);
  }

  /**
   * Create the cgroup `CGROUP_PARENT/id` with `limits` in every hierarchy.
   * On any failure, whatever was made is removed again before the error is
   * thrown. An empty leftover of a previous container with the same
   * identity (the identity is claimed, so it is not running) is removed
   * first; one with processes in it is refused.
   */
  static create(id: string, limits: CgroupLimits, layout: CgroupLayout = detectCgroupLayout()): Promise<ContainerCgroup> {
    return ContainerCgroup.createNamed(`${CGROUP_PARENT}/${id}`, limitsToResources(limits), { layout });
  }

  /** Create cgroup `name` (a relative path) with `resources` in every hierarchy; see create(). */
  static async createNamed(name: string, resources: CgroupResources, opts: CgroupOptions = {}): Promise<ContainerCgroup> {
    const layout = opts.layout ?? detectCgroupLayout();
    const cg = new ContainerCgroup(layout, name, planResources(layout, name, resources, opts.labels ?? CONTAINODE_LABELS));
    if (!opts.joinExisting) {
      for (const dir of cg.plan.dirs) {
        const pids = cgroupPids(dir);
        // Possible only with another state directory (CONTAINET_STATE) using
        // the same identity: never touch processes that aren't ours.
        if (pids.length) {
          throw new ContainetError('CN_CGROUP_BUSY', `cgroup ${dir} is in use by processes ${pids.join(' ')}`, { hint: 'pick another identity with -i' });
        }
      }
    }
    try {
      await cg.#make(opts.joinExisting === true);
    } catch (err) {
      await cg.remove().catch(() => undefined);
      throw err;
    }
    return cg;
  }

  async #make(joinExisting: boolean): Promise<void> {
    const { dirs, enable, writes } = this.plan;
    if (!joinExisting) for (const dir of dirs) if (existsSync(dir)) await removeCgroupDir(dir);
    // v2: controllers are enabled level by level from the root down (a
    // level's subtree_control exists once the level does).
    for (const e of enable) {
      mkdirP(dirname(e.file));
      this.#enable(e);
    }
    for (const dir of dirs) mkdirP(dir);
    if (this.plan.cpuset) initCpusets(this.plan.cpuset, this.name);
    // Again, now that the leaf pins its parents: another containode may have
    // removed and re-made the shared parent in between (removeEmptyParents).
    for (const e of enable) this.#enable(e);
    for (const w of writes) writeChecked(w, this.layout.root);
    for (const c of this.plan.checks ?? []) {
      const lines = readLines(c.file);
      if (lines.includes(c.line) !== c.present) {
        throw new ContainetError('CN_CGROUP', `cannot apply ${c.option}: ${c.file} ${c.present ? 'lacks' : 'still holds'} "${c.line}" after writing (it reads: ${lines.join('; ') || 'nothing'})`);
      }
    }
    // v2 cgroup.freeze exists from Linux 5.2 on.
    if (this.plan.freezer?.endsWith('cgroup.freeze') && !existsSync(this.plan.freezer)) this.plan.freezer = undefined;
  }

  /** The freezer file (v1 freezer.state or v2 cgroup.freeze), when the host has one. */
  get freezer(): string | undefined {
    return this.plan.freezer;
  }

  #enable(e: CgroupPlan['enable'][number]): void {
    const current = (() => {
      try {
        return readFileSync(e.file, 'utf8').split(/\s+/);
      } catch {
        return [];
      }
    })();
    if (current.includes(e.controller)) return;
    try {
      writeFileSync(e.file, `+${e.controller}`);
    } catch (err) {
      if (!e.required) return; // accounting only: not worth failing the container
      throw new ContainetError('CN_CGROUP', `cannot enable the ${e.controller} controller in ${e.file}: ${osErrnoText(err)}`, {
        cause: err,
        hint: errnoOf(err) === 'EBUSY' ? `${dirname(e.file)} has processes of its own; cgroup v2 only delegates controllers from cgroups without them` : undefined,
      });
    }
  }

  /** The cgroup.procs files the container's init must join (spec.cgroupProcs). */
  get procsFiles(): string[] {
    return this.plan.dirs.map((d) => join(d, 'cgroup.procs'));
  }

  /**
   * Freeze or thaw every process in the cgroup and wait until the kernel
   * says it is done (v1 passes through FREEZING; v2 reports `frozen` in
   * cgroup.events). CN_CGROUP when there is no freezer.
   */
  setFrozen(frozen: boolean, what: string): void {
    const freezer = this.plan.freezer;
    if (!freezer) throw new ContainetError('CN_CGROUP', `cannot ${frozen ? 'freeze' : 'thaw'} ${what}: its cgroup has no freezer`);
    const v2 = freezer.endsWith('cgroup.freeze');
    try {
      writeFileSync(freezer, v2 ? (frozen ? '1' : '0') : frozen ? 'FROZEN' : 'THAWED');
    } catch (err) {
      throw new ContainetError('CN_CGROUP', `cannot ${frozen ? 'freeze' : 'thaw'} ${what}: ${freezer}: ${osErrnoText(err)}`, { cause: err });
    }
    const done = (): boolean => {
      try {
        if (!v2) return (readFileSync(freezer, 'utf8').trim() === 'FROZEN') === frozen;
        return /^frozen (\d)$/m.exec(readFileSync(join(dirname(freezer), 'cgroup.events'), 'utf8'))?.[1] === (frozen ? '1' : '0');
      } catch {
        return true;
      }
    };
    const deadline = Date.now() + 5000;
    while (!done()) {
      if (Date.now() > deadline) throw new ContainetError('CN_CGROUP', `${what} did not ${frozen ? 'freeze' : 'thaw'} within 5 s (${freezer})`);
      sleepSync(2);
    }
  }

  /** Every task currently in the container's cgroups. */
  pids(): number[] {
    return [...new Set(this.plan.dirs.flatMap((d) => cgroupPids(d)))];
  }

  /** What the OOM killer did; undefined without a memory controller. */
  oom(): OomReport | undefined {
    const ev = memoryEventsFile(this.layout, this.name);
    if (!ev) return undefined;
    let text: string;
    try {
      text = readFileSync(ev.file, 'utf8');
    } catch {
      return undefined;
    }
    if (ev.version === 2) {
      // Documentation/admin-guide/cgroup-v2.rst, memory.events.
      return { kills: keyedCounter(text, 'oom_kill'), hitLimit: (keyedCounter(text, 'max') ?? 0) > 0 };
    }
    // v1 memory.oom_control has oom_kill since Linux 4.13; failcnt counts
    // the times usage hit the limit (cgroup-v1/memory.rst 5.4).
    let failcnt = 0;
    try {
      failcnt = Number(readFileSync(join(dirname(ev.file), 'memory.failcnt'), 'utf8'));
    } catch {
      // keep 0
    }
    return { kills: keyedCounter(text, 'oom_kill'), hitLimit: failcnt > 0 };
  }

  /**
   * Remove the container's cgroups (killing leftovers), then the shared
   * parent when no other container uses it. Safe to call twice.
   */
  async remove(): Promise<void> {
    if (this.#removed) return;
    // A frozen task acts on SIGKILL only once thawed (cgroup v1 freezer).
    const freezer = this.plan.freezer;
    if (freezer && existsSync(freezer)) {
      try {
        writeFileSync(freezer, freezer.endsWith('cgroup.freeze') ? '0' : 'THAWED');
      } catch {
        // gone meanwhile
      }
    }
    const errors: unknown[] = [];
    for (const dir of [...this.plan.dirs].reverse()) {
      try {
        await removeCgroupDir(dir);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length) throw errors[0];
    this.#removed = true;
    for (const dir of this.plan.dirs) removeEmptyParents(dir, this.name);
  }
}

/**
 * A v1 cpuset cgroup takes no task until its cpuset.cpus and cpuset.mems
 * are set (cpusets(7)); a new one starts empty. Give every level of `name`
 * that has none its parent's, top down.
 */
function initCpusets(hierarchy: string, name: string): void {
  let parent = hierarchy;
  for (const part of name.split('/').filter(Boolean)) {
    const dir = join(parent, part);
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      try {
        if (readFileSync(join(dir, f), 'utf8').trim() !== '') continue;
        writeFileSync(join(dir, f), readFileSync(join(parent, f), 'utf8').trim());
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') continue; // not a cpuset hierarchy (a test's fake tree)
        throw new ContainetError('CN_CGROUP', `cannot set ${join(dir, f)} from its parent: ${osErrnoText(err)}`, { cause: err });
      }
    }
    parent = dir;
  }
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * One interface file written (to the first of its alternatives that exists)
 * and, when the plan says what it must then hold, read back: the kernel
 * takes some values without error and keeps another (a rounded limit, a
 * setting its scheduler ignores), and a limit that is not in force must not
 * pass for one.
 */
function writeChecked(w: CgroupWrite, root: string): void {
  const target = [...(w.alternatives ?? []), w.file].find((f) => existsSync(f));
  if (!target) {
    if (w.optional) return;
    throw new ContainetError('CN_CGROUP_UNSUPPORTED', `cannot apply ${w.option}: ${w.file} does not exist (controller not enabled for this cgroup, or the kernel lacks the feature)`, {
      hint: `check the cgroup layout under ${root}, or run without ${w.option}`,
    });
  }
  try {
    writeFileSync(target, w.value);
  } catch (err) {
    throw new ContainetError('CN_CGROUP', `cannot apply ${w.option}: writing ${w.value} to ${target}: ${osErrnoText(err)}`, { cause: err });
  }
  if (w.expect === undefined && w.expectLine === undefined) return;
  const text = (() => {
    try {
      return readFileSync(target, 'utf8');
    } catch {
      return '';
    }
  })();
  const ok = w.expect !== undefined ? text.trim() === w.expect : text.split('\n').some((l) => l.trim() === w.expectLine);
  if (!ok) {
    throw new ContainetError('CN_CGROUP', `cannot apply ${w.option}: wrote ${w.value} to ${target}, it reads ${JSON.stringify(text.trim())}`);
  }
}

/** mkdir -p that tolerates a concurrent rmdir of a shared parent (see removeEmptyParents). */
function mkdirP(dir: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(dir, { recursive: true });
      return;
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT' || attempt >= 5) {
        throw new ContainetError('CN_CGROUP', `cannot create cgroup ${dir}: ${osErrnoText(err)}`, {
          cause: err,
          hint: errnoOf(err) === 'EROFS' || errnoOf(err) === 'EACCES' ? 'containode needs root and a writable cgroup filesystem' : undefined,
        });
      }
    }
  }
}

/** rmdir the now-empty intermediate levels of `name` above `dir` (EBUSY: in use by another container). */
function removeEmptyParents(dir: string, name: string): void {
  let at = dir;
  for (let depth = name.split('/').filter(Boolean).length - 1; depth > 0; depth--) {
    at = dirname(at);
    try {
      rmdirSync(at);
    } catch {
      return;
    }
  }
}

export interface StaleSweepOptions {
  /**
   * Only remove cgroups without tasks, never kill: for the sweep at every
   * start, which can't know the containers of a containode that keeps its
   * records elsewhere (CONTAINET_STATE).
   */
  onlyEmpty?: boolean;
  /** Leave cgroups younger than this (one being set up right now has no tasks yet). */
  minAgeMs?: number;
  /** Only say which would go. */
  dryRun?: boolean;
}

/**
 * Remove cgroups CGROUP_PARENT/* of containers that are no longer running
 * (after containode and its spawner were SIGKILLed). `isLive(id)` says
 * which to keep. Returns the directories removed.
 */
export async function removeStaleCgroups(isLive: (id: string) => boolean, layout: CgroupLayout = detectCgroupLayout(), opts: StaleSweepOptions = {}): Promise<string[]> {
  const parents = new Set(layout.hierarchies.map((h) => join(h.path, CGROUP_PARENT)));
  const removed: string[] = [];
  for (const parent of parents) {
    for (const id of subdirs(parent)) {
      if (isLive(id)) continue;
      const dir = join(parent, id);
      if (opts.onlyEmpty && cgroupPids(dir).length > 0) continue;
      if (opts.minAgeMs && ageMs(dir) < opts.minAgeMs) continue;
      if (opts.dryRun) {
        if (!opts.onlyEmpty || cgroupPids(dir).length === 0) removed.push(dir);
        continue;
      }
      if (opts.onlyEmpty) {
        try {
          rmdirSync(dir);
        } catch {
          continue; // busy after all, or gone
        }
      } else {
        await removeCgroupDir(dir);
      }
      removed.push(dir);
    }
    if (opts.dryRun) continue;
    try {
      rmdirSync(parent);
    } catch {
      // in use, or not there
    }
  }
  return removed;
}

function ageMs(dir: string): number {
  try {
    return Date.now() - statSync(dir).mtimeMs;
  } catch {
    return 0;
  }
}
