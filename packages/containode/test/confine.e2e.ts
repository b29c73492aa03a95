/**
 * Containers confined by confine() (security/), run through spawnContainer
 * as both commands run them, in each kind of container: a root filesystem
 * with an overlay (what -r and --image give) and no root at all (the host's
 * files), each with and without its own network namespace. From inside,
 * the kernel settings, the SysRq trigger and /sys refuse writes (the host's
 * values read before and after are the same), the masked files read empty,
 * the container reads its own cgroup limits, --sysctl reaches only the
 * container's namespace, and privileged lifts the protections.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup, run, sh, testIf, uniqueName, whyNoRoot } from '@containet/common/testing';
import type { ContainerSpec } from '@containet/containode';
import { ContainerCgroup, detectCgroupLayout } from '../src/cgroup/index.js';
import { DEFAULT_CAPABILITIES } from '../src/limits/index.js';
import { confine } from '../src/security/confine.js';
import { DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS } from '../src/security/paths.js';
import { defaultSeccompFilter } from '../src/security/seccomp.js';
import { baseSpec, busyboxRoot, runSpec, tempDir } from './helpers.js';
import { baseConfig, makeBundle, oci } from './oci-fixtures.js';

const noRoot = whyNoRoot();
const layout = detectCgroupLayout();

interface Kind {
  name: string;
  rootfs: boolean;
  net: boolean;
}

const KINDS: Kind[] = [
  { name: 'rootfs with an overlay, own network namespace', rootfs: true, net: true },
  { name: 'rootfs with an overlay, the host\'s network namespace', rootfs: true, net: false },
  { name: 'no root (the host\'s files), own network namespace', rootfs: false, net: true },
  { name: 'no root (the host\'s files), the host\'s network namespace', rootfs: false, net: false },
];

/** The host settings a container tries to change, each with a value that differs from the host's. */
const PRINTK_RATELIMIT = '/proc/sys/kernel/printk_ratelimit';
const CORE_PATTERN = '/proc/sys/kernel/core_pattern';
const SYSRQ_TRIGGER = '/proc/sysrq-trigger';
const PRINTK_TIME = '/sys/module/printk/parameters/time';

function read(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Every /proc or /sys mount of the host, with its options (the container's mounts must not appear). */
function hostProcSysMounts(): string[] {
  return read('/proc/self/mountinfo')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[4] === '/proc' || f[4] === '/sys' || f[4]?.startsWith('/proc/'))
    .map((f) => `${f[4]} ${f[5]}`)
    .sort();
}

async function kindSpec(cleanup: Cleanup, kind: Kind, script: string, extra: Partial<ContainerSpec> = {}): Promise<ContainerSpec> {
  const spec = baseSpec(['sh', '-c', script], {
    namespaces: { pid: true, mount: true, uts: true, ipc: true, ...(kind.net ? { net: true as const } : {}) },
    ...extra,
    // Docker's default set: no CAP_SYS_ADMIN to undo the mounts with.
    process: { capabilities: { bounding: [...DEFAULT_CAPABILITIES], effective: [...DEFAULT_CAPABILITIES], permitted: [...DEFAULT_CAPABILITIES] } },
  });
  if (kind.rootfs) {
    const root = await busyboxRoot(cleanup);
    const top = tempDir(cleanup, 'cnconf-top');
    mkdirSync(join(top, 'upper'));
    mkdirSync(join(top, 'work'));
    spec.rootfs = { path: root, overlay: { lower: [root], upper: join(top, 'upper'), work: join(top, 'work') } };
  }
  return spec;
}

/** `KEY<tab>VALUE` lines of the probe scripts. */
function fields(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) m.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return m;
}

// try PATH VALUE: "ok" when the write went through, else the shell's error.
const TRY = `try() { e=$( (printf '%s\\n' "$2" > "$1") 2>&1 ) && printf 'write %s\\tok\\n' "$1" || printf 'write %s\\t%s\\n' "$1" "$e"; }
size() { printf 'size %s\\t%s\\n' "$1" "$(wc -c < "$1" 2>&1 | tr -d ' ')"; }
entries() { printf 'entries %s\\t%s\\n' "$1" "$(ls -A "$1" 2>&1 | wc -l | tr -d ' ')"; }
`;

for (const kind of KINDS) {
  testIf(test, noRoot, `${kind.name}: /proc/sys, sysrq-trigger and /sys refuse writes, the host's values stay; masked files read empty`, async () => {
    const cleanup = new Cleanup();
    const before = {
      ratelimit: read(PRINTK_RATELIMIT),
      core: read(CORE_PATTERN),
      time: read(PRINTK_TIME),
      mounts: hostProcSysMounts(),
    };
    try {
      const other = {
        ratelimit: String(Number(before.ratelimit) + 1),
        core: '|/bin/false containode-confine-test',
        time: before.time.trim() === 'Y' ? 'N' : 'Y',
      };
      const script = `${TRY}
try ${PRINTK_RATELIMIT} ${other.ratelimit}
try ${CORE_PATTERN} '${other.core}'
try ${SYSRQ_TRIGGER} h
try ${PRINTK_TIME} ${other.time}
size /proc/kcore; size /proc/keys; size /proc/timer_list
entries /sys/firmware; entries /proc/acpi
mount -o remount,rw /proc/sys 2>/dev/null; printf 'remount /proc/sys\\t%s\\n' $?
mount -o remount,rw /sys 2>/dev/null; printf 'remount /sys\\t%s\\n' $?
try ${PRINTK_RATELIMIT} ${other.ratelimit}
grep -E ' /proc/(acpi|kcore|keys|timer_list|sys|sysrq-trigger) | /sys ' /proc/self/mountinfo | sed 's/^/mount\\t/'
`;
      const r = await runSpec(cleanup, confine(await kindSpec(cleanup, kind, script), { privileged: false }));
      assert.is(r.status, 0, r.err);
      const f = fields(r.out);
      for (const path of [PRINTK_RATELIMIT, CORE_PATTERN, PRINTK_TIME]) {
        assert.match(f.get(`write ${path}`) ?? '', /Read-only file system/, `${path}: ${f.get(`write ${path}`)}`);
      }
      // A kernel without CONFIG_MAGIC_SYSRQ has no trigger to protect.
      if (existsSync(SYSRQ_TRIGGER)) assert.match(f.get(`write ${SYSRQ_TRIGGER}`) ?? '', /Read-only file system/);
      else assert.is.not(f.get(`write ${SYSRQ_TRIGGER}`), 'ok');
      for (const path of ['/proc/kcore', '/proc/keys', '/proc/timer_list']) {
        // (Not every kernel has each: /proc/kcore needs CONFIG_PROC_KCORE.)
        if (existsSync(path)) assert.is(f.get(`size ${path}`), '0', `${path} reads empty`);
      }
      assert.is(f.get('entries /sys/firmware'), '0', '/sys/firmware is an empty directory');
      if (existsSync('/proc/acpi')) assert.is(f.get('entries /proc/acpi'), '0');
      // Without CAP_SYS_ADMIN the read-only mounts stay so.
      assert.is.not(f.get('remount /proc/sys'), '0');
      assert.is.not(f.get('remount /sys'), '0');
      const mountLines = r.out.split('\n').filter((l) => l.startsWith('mount\t'));
      assert.ok(mountLines.some((l) => / \/proc\/sys ro,/.test(l)), mountLines.join('\n'));
      assert.ok(mountLines.some((l) => / \/sys ro,/.test(l)), mountLines.join('\n'));
      if (existsSync('/proc/acpi')) assert.ok(mountLines.some((l) => / \/proc\/acpi ro,.* - tmpfs /.test(l)), 'a directory is masked by an empty tmpfs');
    } finally {
      const after = { ratelimit: read(PRINTK_RATELIMIT), core: read(CORE_PATTERN), time: read(PRINTK_TIME) };
      // Put back anything a failed confinement let through, then fail.
      if (after.ratelimit !== before.ratelimit) writeFileSync(PRINTK_RATELIMIT, before.ratelimit);
      if (after.core !== before.core) writeFileSync(CORE_PATTERN, before.core);
      if (after.time !== before.time) writeFileSync(PRINTK_TIME, before.time);
      await cleanup.run();
      assert.equal(after, { ratelimit: before.ratelimit, core: before.core, time: before.time }, 'the host\'s settings are unchanged');
      assert.equal(hostProcSysMounts(), before.mounts, 'the host\'s /proc and /sys mounts are untouched');
    }
  });
}

/** Where the container reads its memory limit in the view, and the value for `bytes`. */
function memoryLimitFile(): string | undefined {
  const home = layout.controllers.memory;
  if (!home) return undefined;
  if (home.version === 1) return '/sys/fs/cgroup/memory/memory.limit_in_bytes';
  return layout.kind === 'v2' ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/unified/memory.max';
}

function pidsMaxFile(): string | undefined {
  const home = layout.controllers.pids;
  if (!home) return undefined;
  if (home.version === 1) return '/sys/fs/cgroup/pids/pids.max';
  return layout.kind === 'v2' ? '/sys/fs/cgroup/pids.max' : '/sys/fs/cgroup/unified/pids.max';
}

const whyNoLimits = noRoot ?? (memoryLimitFile() && pidsMaxFile() ? null : 'needs memory and pids cgroup controllers');
const MEMORY = 64 * 1024 * 1024;
const PIDS = 20;

const CGROUP_CASES: Array<{ kind: Kind; cgroupns: boolean }> = [
  { kind: KINDS[0]!, cgroupns: true },
  { kind: KINDS[3]!, cgroupns: true },
  // podman on a v1 host keeps the host's cgroup namespace: the view binds
  // the container's own directories instead of mounting.
  { kind: KINDS[0]!, cgroupns: false },
  { kind: KINDS[2]!, cgroupns: false },
];

for (const { kind, cgroupns } of CGROUP_CASES) {
  testIf(test, whyNoLimits, `${kind.name}, ${cgroupns ? 'own' : 'the host\'s'} cgroup namespace: /sys/fs/cgroup shows the container's own limits, read-only`, async () => {
    const cleanup = new Cleanup();
    const id = uniqueName('cnconf');
    const cg = await ContainerCgroup.create(id, { memory: MEMORY, pidsLimit: PIDS }, layout);
    cleanup.add(`cgroup ${id}`, () => cg.remove());
    try {
      const mem = memoryLimitFile()!;
      const pids = pidsMaxFile()!;
      const unified = layout.kind === 'hybrid' ? '/sys/fs/cgroup/unified/cgroup.procs' : '/sys/fs/cgroup/cgroup.procs';
      const script = `${TRY}
printf 'memory\\t%s\\n' "$(cat ${mem})"
printf 'pids\\t%s\\n' "$(cat ${pids})"
printf 'procs\\t%s\\n' "$(cat ${unified} 2>&1 | tr '\\n' ' ')"
try ${pids} 1000
printf 'hierarchies\\t%s\\n' "$(ls /sys/fs/cgroup | tr '\\n' ' ')"
`;
      const spec = await kindSpec(cleanup, kind, script, { cgroupProcs: cg.procsFiles });
      if (cgroupns) spec.namespaces.cgroup = true;
      const r = await runSpec(cleanup, confine(spec, { privileged: false }));
      assert.is(r.status, 0, r.err);
      const f = fields(r.out);
      assert.is(f.get('memory'), String(MEMORY));
      assert.is(f.get('pids'), String(PIDS));
      assert.match(f.get(`write ${pids}`) ?? '', /Read-only file system/);
      // The container's own v2 cgroup: its processes only (pid 1 is the shell).
      // (pids as the container's PID namespace numbers them: the shell and its few children).
      const procs = (f.get('procs') ?? '').trim().split(/\s+/);
      assert.ok(procs.includes('1') && procs.every((p) => Number(p) < 20), `procs: ${f.get('procs')}`);
      // The host's hierarchies, by the same names.
      const hostNames = readdirSync('/sys/fs/cgroup').sort().join(' ');
      if (layout.kind !== 'v2') assert.is((f.get('hierarchies') ?? '').trim().split(' ').sort().join(' '), hostNames);
      assert.is(read(join(cg.plan.dirs[0]!, 'cgroup.procs')), '', 'the container has ended');
    } finally {
      await cleanup.run();
    }
  });
}

// A pure-v2 host, made for the test: a process in its own mount namespace
// (unshare(1) starts it there; Node itself never unshares) with the
// machine's cgroup2 hierarchy mounted at /sys/fs/cgroup. The spawner reads
// that as the layout and mounts one cgroup2 at the container's /sys/fs/cgroup.
const unifiedRoot = layout.unified;
const whyNoV2 = noRoot ?? (unifiedRoot && existsSync(join(unifiedRoot, 'cgroup.max.descendants')) ? null : 'needs a cgroup2 hierarchy');

const V2_DRIVER = `
const [confineUrl, spawnUrl, cgdir, ownNs] = process.argv.slice(2);
const { confine } = await import(confineUrl);
const { spawnContainer } = await import(spawnUrl);
const script = [
  'grep " /sys/fs/cgroup " /proc/self/mountinfo | cut -d" " -f4,6,9',
  'printf "descendants\\\\t%s\\\\n" "$(cat /sys/fs/cgroup/cgroup.max.descendants)"',
  'printf "procs\\\\t%s\\\\n" "$(cat /sys/fs/cgroup/cgroup.procs | tr "\\\\n" " ")"',
  'e=$(mkdir /sys/fs/cgroup/sub 2>&1) && echo "mkdir\\\\tok" || printf "mkdir\\\\t%s\\\\n" "$e"',
].join('\\n');
const spec = confine({
  namespaces: { pid: true, mount: true, uts: true, ipc: true, net: true, ...(ownNs === '1' ? { cgroup: true } : {}) },
  defaultMounts: true, defaultDevices: true, cgroupProcs: [cgdir + '/cgroup.procs'],
  process: { args: ['sh', '-c', script], env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] },
}, { privileged: false });
const c = await spawnContainer(spec, { stdio: ['ignore', 'inherit', 'inherit'] });
await c.release();
process.exitCode = await c.exited;
`;

for (const ownNs of [true, false]) {
  testIf(test, whyNoV2, `pure cgroup v2 host, ${ownNs ? 'own' : 'the host\'s'} cgroup namespace: one read-only cgroup2 at /sys/fs/cgroup whose root is the container's cgroup`, async () => {
    const cleanup = new Cleanup();
    const name = uniqueName('cnconf2');
    const hostDir = join(unifiedRoot!, name);
    try {
      mkdirSync(hostDir);
      cleanup.add(`rmdir ${hostDir}`, () => rmdirSync(hostDir));
      // A setting of this cgroup only, read back from inside.
      writeFileSync(join(hostDir, 'cgroup.max.descendants'), '7');
      const dir = tempDir(cleanup, 'cnconf2');
      const driver = join(dir, 'driver.mjs');
      writeFileSync(driver, V2_DRIVER);
      const url = (p: string) => new URL(p, import.meta.url).href;
      const r = await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"', 'sh',
        process.execPath, driver, url('../src/security/confine.js'), url('../src/runtime/spawn.js'), `/sys/fs/cgroup/${name}`, ownNs ? '1' : '0'], { timeoutMs: 30_000 });
      assert.is(r.code, 0, r.stderr + r.stdout);
      const f = fields(r.stdout);
      // The last mount at /sys/fs/cgroup is the one seen (a container without a root lists the host's beneath).
      const mountLine = r.stdout.split('\n').filter((l) => / (cgroup2|tmpfs)$/.test(l)).pop() ?? '';
      assert.match(mountLine, /^\S+ ro,\S* cgroup2$/, `one cgroup2 mount, read-only: ${r.stdout}`);
      assert.is(f.get('descendants'), '7', 'the root of the view is the container\'s cgroup');
      const procs = (f.get('procs') ?? '').trim().split(/\s+/);
      assert.ok(procs.includes('1') && procs.every((p) => Number(p) < 20), `procs: ${f.get('procs')}`);
      assert.match(f.get('mkdir') ?? '', /Read-only file system/);
    } finally {
      await cleanup.run();
    }
  });
}

testIf(test, noRoot, '--sysctl net.ipv4.ip_forward and kernel.msgmax: set in the container\'s own namespaces, the host\'s stay', async () => {
  const cleanup = new Cleanup();
  const FWD = '/proc/sys/net/ipv4/ip_forward';
  const MSGMAX = '/proc/sys/kernel/msgmax';
  const hostBefore = { fwd: read(FWD), msgmax: read(MSGMAX) };
  try {
    const probe = `printf "fwd\\t%s\\nmsgmax\\t%s\\n" "$(cat ${FWD})" "$(cat ${MSGMAX})"`;
    // What fresh namespaces have (a new network namespace may inherit the
    // host's settings, net.core.devconf_inherit_init_net): the settings must change it.
    const fresh = fields((await runSpec(cleanup, confine(await kindSpec(cleanup, KINDS[0]!, probe), { privileged: false }))).out);
    const wanted = { fwd: fresh.get('fwd') === '1' ? '0' : '1', msgmax: String(Number(fresh.get('msgmax')) + 1000) };
    for (const kind of [KINDS[0]!, KINDS[2]!]) {
      const sysctls = { 'net.ipv4.ip_forward': wanted.fwd, 'kernel.msgmax': wanted.msgmax };
      const r = await runSpec(cleanup, confine(await kindSpec(cleanup, kind, probe), { privileged: false, sysctls }));
      assert.is(r.status, 0, r.err);
      const f = fields(r.out);
      assert.is(f.get('fwd'), wanted.fwd, kind.name);
      assert.is(f.get('msgmax'), wanted.msgmax, kind.name);
    }
  } finally {
    await cleanup.run();
    assert.equal({ fwd: read(FWD), msgmax: read(MSGMAX) }, hostBefore, 'the host\'s settings are unchanged');
  }
});

testIf(test, noRoot, 'privileged: /proc/sys and /sys writable, nothing masked, the cgroup view writable', async () => {
  const cleanup = new Cleanup();
  const hostBefore = read('/proc/sys/net/ipv4/ip_forward');
  try {
    for (const kind of [KINDS[0]!, KINDS[2]!]) {
      // A namespaced setting of the container's own network namespace, never a host-wide one.
      const script = `${TRY}
v=$(cat /proc/sys/net/ipv4/ip_forward); n=$((1 - v))
try /proc/sys/net/ipv4/ip_forward $n
printf 'fwd\\t%s %s\\n' "$n" "$(cat /proc/sys/net/ipv4/ip_forward)"
grep -E ' /proc/(kcore|keys|timer_list|acpi|sys)(/| )| /sys(/firmware)? ' /proc/self/mountinfo | sed 's/^/mount\\t/'
`;
      const spec = await kindSpec(cleanup, kind, script);
      delete spec.process.capabilities; // all of root's, as --privileged gives
      const r = await runSpec(cleanup, confine(spec, { privileged: true }));
      assert.is(r.status, 0, r.err);
      const f = fields(r.out);
      assert.is(f.get('write /proc/sys/net/ipv4/ip_forward'), 'ok', kind.name);
      const [set, got] = (f.get('fwd') ?? '').split(' ');
      assert.is(got, set);
      const mounts = r.out.split('\n').filter((l) => l.startsWith('mount\t'));
      assert.ok(mounts.some((l) => / \/sys rw,/.test(l)), mounts.join('\n'));
      assert.not.ok(mounts.some((l) => / \/proc\/(kcore|keys|timer_list|acpi|sys) /.test(l)), mounts.join('\n'));
      assert.not.ok(mounts.some((l) => / \/sys\/firmware /.test(l)), mounts.join('\n'));
    }
  } finally {
    await cleanup.run();
    assert.is(read('/proc/sys/net/ipv4/ip_forward'), hostBefore, 'the host\'s ip_forward is unchanged');
  }
});

testIf(test, whyNoLimits, 'a user namespace (containode -U) with a rootfs: the same writes refused, masks, and its own limits under /sys/fs/cgroup', async () => {
  const cleanup = new Cleanup();
  const id = uniqueName('cnconfu');
  const before = { ratelimit: read(PRINTK_RATELIMIT), core: read(CORE_PATTERN), time: read(PRINTK_TIME) };
  const cg = await ContainerCgroup.create(id, { memory: MEMORY, pidsLimit: PIDS }, layout);
  cleanup.add(`cgroup ${id}`, () => cg.remove());
  try {
    const script = `${TRY}
try ${PRINTK_RATELIMIT} ${Number(before.ratelimit) + 1}
try ${CORE_PATTERN} '|/bin/false containode-confine-test'
try ${PRINTK_TIME} ${before.time.trim() === 'Y' ? 'N' : 'Y'}
size /proc/keys; size /proc/timer_list
entries /sys/firmware
printf 'memory\\t%s\\n' "$(cat ${memoryLimitFile()!})"
printf 'pids\\t%s\\n' "$(cat ${pidsMaxFile()!})"
try ${pidsMaxFile()!} 1000
`;
    const spec = await kindSpec(cleanup, KINDS[0]!, script, {
      cgroupProcs: cg.procsFiles,
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    });
    spec.namespaces.user = true;
    spec.namespaces.cgroup = true;
    spec.process.user = { uid: 0, gid: 0 };
    // The overlay's upper and work belong to the container's root (as limits/apply.ts makes them).
    const ov = spec.rootfs!.overlay!;
    await sh('chown', '-R', '100000:100000', join(ov.upper, '..'));
    const r = await runSpec(cleanup, confine(spec, { privileged: false }));
    assert.is(r.status, 0, r.err);
    const f = fields(r.out);
    // Refused by the read-only mount or, for the host-owned kernel.* files, by their owner.
    for (const path of [PRINTK_RATELIMIT, CORE_PATTERN, PRINTK_TIME]) {
      assert.match(f.get(`write ${path}`) ?? '', /Read-only file system|Permission denied/, `${path}: ${f.get(`write ${path}`)}`);
    }
    assert.is(f.get('size /proc/keys'), '0');
    assert.is(f.get('size /proc/timer_list'), '0');
    assert.is(f.get('entries /sys/firmware'), '0');
    assert.is(f.get('memory'), String(MEMORY));
    assert.is(f.get('pids'), String(PIDS));
    assert.match(f.get(`write ${pidsMaxFile()!}`) ?? '', /Read-only file system|Permission denied/);
  } finally {
    const after = { ratelimit: read(PRINTK_RATELIMIT), core: read(CORE_PATTERN), time: read(PRINTK_TIME) };
    if (after.ratelimit !== before.ratelimit) writeFileSync(PRINTK_RATELIMIT, before.ratelimit);
    if (after.core !== before.core) writeFileSync(CORE_PATTERN, before.core);
    if (after.time !== before.time) writeFileSync(PRINTK_TIME, before.time);
    await cleanup.run();
    assert.equal(after, before, 'the host\'s settings are unchanged');
  }
});

testIf(test, noRoot, 'the system-call filter goes in through confine() and privileged leaves it out', async () => {
  const cleanup = new Cleanup();
  try {
    const seccomp = defaultSeccompFilter(DEFAULT_CAPABILITIES);
    const script = 'printf "seccomp\\t%s\\n" "$(grep ^Seccomp: /proc/self/status | tr -dc 0-9)"';
    const confined = await runSpec(cleanup, confine(await kindSpec(cleanup, KINDS[0]!, script), { privileged: false, seccomp }));
    assert.is(confined.status, 0, confined.err);
    assert.is(fields(confined.out).get('seccomp'), '2', 'filtered (SECCOMP_MODE_FILTER)');
    const privileged = await runSpec(cleanup, confine(await kindSpec(cleanup, KINDS[0]!, script), { privileged: true, seccomp }));
    assert.is(privileged.status, 0, privileged.err);
    assert.is(fields(privileged.out).get('seccomp'), '0');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'containode-oci: a config with Docker\'s masked and read-only paths and a cgroup mount refuses the same writes', async () => {
  const cleanup = new Cleanup();
  const before = { ratelimit: read(PRINTK_RATELIMIT), core: read(CORE_PATTERN), time: read(PRINTK_TIME) };
  // A cgroup the container would create on the host if /sys/fs/cgroup were writable.
  const probe = uniqueName('cnconfp');
  const v1 = layout.controllers.memory?.version === 1 ? '/sys/fs/cgroup/memory' : '/sys/fs/cgroup';
  try {
    const script = `${TRY}
try ${PRINTK_RATELIMIT} ${Number(before.ratelimit) + 1}
try ${CORE_PATTERN} '|/bin/false containode-confine-test'
try ${PRINTK_TIME} ${before.time.trim() === 'Y' ? 'N' : 'Y'}
size /proc/keys; size /proc/timer_list
entries /sys/firmware
e=$(mkdir ${v1}/${probe} 2>&1) && printf 'mkdir cgroup\\tok\\n' || printf 'mkdir cgroup\\t%s\\n' "$e"
`;
    const cfg = baseConfig(['sh', '-c', script]);
    cfg['mounts'].push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] });
    cfg['linux'].maskedPaths = [...DOCKER_MASKED_PATHS];
    cfg['linux'].readonlyPaths = [...DOCKER_READONLY_PATHS];
    cfg['linux'].namespaces.push({ type: 'cgroup' });
    const b = await makeBundle(cleanup, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('confine')]);
    assert.is(r.code, 0, r.stderr);
    const f = fields(r.stdout);
    for (const path of [PRINTK_RATELIMIT, CORE_PATTERN, PRINTK_TIME]) assert.match(f.get(`write ${path}`) ?? '', /Read-only file system/, path);
    assert.is(f.get('size /proc/keys'), '0');
    assert.is(f.get('size /proc/timer_list'), '0');
    assert.is(f.get('entries /sys/firmware'), '0');
    assert.match(f.get('mkdir cgroup') ?? '', /Read-only file system/);
  } finally {
    const after = { ratelimit: read(PRINTK_RATELIMIT), core: read(CORE_PATTERN), time: read(PRINTK_TIME) };
    if (after.ratelimit !== before.ratelimit) writeFileSync(PRINTK_RATELIMIT, before.ratelimit);
    if (after.core !== before.core) writeFileSync(CORE_PATTERN, before.core);
    if (after.time !== before.time) writeFileSync(PRINTK_TIME, before.time);
    const leaked = existsSync(join(v1, probe));
    if (leaked) rmdirSync(join(v1, probe));
    await cleanup.run();
    assert.equal(after, before, 'the host\'s settings are unchanged');
    assert.not.ok(leaked, 'no cgroup was created on the host');
  }
});

test.run();
