#!/usr/bin/env node
// pnpm bench:oci — what one container lifecycle costs through containode-oci
// next to runc (and crun where it runs), with Node's own start-up as the
// floor (without NODE_EXTRA_CA_CERTS, which the launcher drops): create +
// start + delete of /bin/true on one busybox bundle, then `run` of it, then
// a single `state` call; and `create` of the same bundle with Docker's
// default seccomp profile in linux.seccomp. Variants are interleaved round by
// round so that they share the machine's load; medians and ratios are
// printed. A benchmark, not a test: it never fails on the figures.
//
// Usage: pnpm bench:oci [--rounds N]      (root; default 20 rounds)
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxRoot } from '@containet/common/testing';
import { defaultOciSeccomp } from '../packages/containode/dist/src/security/seccomp.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const OCI = join(root, 'packages/containode/bin/containode-oci.cjs');
const OCI_UNBUNDLED = join(root, 'packages/containode/dist/src/oci/main.js');
const argRounds = process.argv.indexOf('--rounds');
const ROUNDS = argRounds > 0 ? Number(process.argv[argRounds + 1]) : 20;

if (process.getuid?.() !== 0) {
  console.error('bench:oci: needs root (containers)');
  process.exit(1);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

let errFile = '';

// stderr goes to a file, not a pipe: after `create` the container's init
// holds the stdio it was given, and a pipe would not end before it does.
function time(argv) {
  const fd = openSync(errFile, 'w');
  const t = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', fd] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  closeSync(fd);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${readFileSync(errFile, 'utf8').trim()}`);
  return ms;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const work = mkdtempSync(join(tmpdir(), 'bench-oci-'));
errFile = join(work, 'stderr');
try {
  // The single-file entry the CLI prefers (see packages/common/src/launcher.cts).
  const b = spawnSync(process.execPath, [join(root, 'scripts/bundle.mjs'), 'containode-oci'], { stdio: 'inherit' });
  if (b.status !== 0) throw new Error('bundling containode-oci failed');

  const bundle = join(work, 'bundle');
  await makeBusyboxRoot(join(bundle, 'rootfs'));
  const config = {
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/bin/true'], env: ['PATH=/bin:/sbin'], cwd: '/' },
    root: { path: 'rootfs', readonly: true },
    hostname: 'bench',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: { namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }] },
  };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  // The same container under Docker's default filter (evaluated for Docker's
  // default capabilities): what `create` pays for building and loading it.
  const DOCKER_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];
  const filtered = join(work, 'bundle-seccomp');
  mkdirSync(filtered);
  const withFilter = { ...config, root: { ...config.root, path: join(bundle, 'rootfs') }, linux: { ...config.linux, seccomp: defaultOciSeccomp(DOCKER_CAPS) } };
  writeFileSync(join(filtered, 'config.json'), JSON.stringify(withFilter));

  // containode-oci runs as installed: its launcher, whose shebang spares
  // Node the NODE_EXTRA_CA_CERTS file (see bin/containode-oci.cjs). The
  // unbundled variant and the clean floor get the same environment, so the
  // bundle's effect and the runtime's own cost read apart from it.
  const extraCa = Boolean(process.env.NODE_EXTRA_CA_CERTS);
  const noCa = ['env', '-u', 'NODE_EXTRA_CA_CERTS'];
  const runtimes = [{ name: 'containode-oci', argv: [OCI] }];
  runtimes.push({ name: 'containode-oci (unbundled)', argv: [...noCa, process.execPath, OCI_UNBUNDLED] });
  if (has('runc')) runtimes.push({ name: 'runc', argv: ['runc'] });
  if (has('crun')) {
    // crun refuses some hybrid cgroup layouts: include it only if it runs here.
    const probe = spawnSync('crun', ['--root', join(work, 'crun-probe'), 'run', '--bundle', bundle, 'probe'], { stdio: 'ignore' });
    if (probe.status === 0) runtimes.push({ name: 'crun', argv: ['crun'] });
    else console.log('crun is installed but does not run this bundle here: left out');
  }
  for (const rt of runtimes) rt.root = join(work, `state-${rt.name.replace(/\W+/g, '-')}`);
  const cli = (rt, ...args) => [...rt.argv, '--root', rt.root, ...args];

  const samples = new Map();
  const add = (key, ms) => samples.set(key, [...(samples.get(key) ?? []), ms]);
  for (let i = 0; i < ROUNDS + 2; i++) {
    const warm = i < 2; // the first rounds fill caches; they are not counted
    const rec = (key, ms) => !warm && add(key, ms);
    rec('node -e 0', time([process.execPath, '-e', '0']));
    rec('clean node -e 0', time([...noCa, process.execPath, '-e', '0']));
    for (const rt of runtimes) {
      const id = `bench${i}`;
      const c = time(cli(rt, 'create', '--bundle', bundle, id));
      const s = time(cli(rt, 'start', id));
      const st = time(cli(rt, 'state', id));
      const d = time(cli(rt, 'delete', '--force', id));
      rec(`${rt.name} create`, c);
      rec(`${rt.name} start`, s);
      rec(`${rt.name} state`, st);
      rec(`${rt.name} delete`, d);
      rec(`${rt.name} cycle`, c + s + d);
      rec(`${rt.name} run`, time(cli(rt, 'run', '--bundle', bundle, `run${i}`)));
      if (rt.name === 'containode-oci' || rt.name === 'runc') {
        rec(`${rt.name} create seccomp`, time(cli(rt, 'create', '--bundle', filtered, `sc${i}`)));
        time(cli(rt, 'delete', '--force', `sc${i}`));
      }
    }
  }

  const m = (k) => median(samples.get(k));
  const floor = m('clean node -e 0');
  const ref = runtimes.find((r) => r.name === 'runc');
  console.log(`\ncontainode-oci vs runc: /bin/true on a busybox bundle, median of ${ROUNDS} rounds, ${cpus().length} CPUs, ${new Date().toISOString()}`);
  console.log(`node -e 0 (floor of one Node process): ${floor.toFixed(1)} ms${extraCa ? ` without NODE_EXTRA_CA_CERTS; ${m('node -e 0').toFixed(1)} ms with it, as this environment sets it (${process.env.NODE_EXTRA_CA_CERTS})` : ''}\n`);
  const pad = (s, n) => String(s).padEnd(n);
  console.log(`${pad('runtime', 28)}${pad('create', 9)}${pad('start', 9)}${pad('delete', 9)}${pad('cycle', 9)}${pad('run', 9)}${pad('state', 9)}${ref ? 'cycle/runc  run/runc' : ''}`);
  for (const rt of runtimes) {
    const f = (k) => m(`${rt.name} ${k}`).toFixed(1);
    const ratios = ref ? `${(m(`${rt.name} cycle`) / m('runc cycle')).toFixed(2)}x       ${(m(`${rt.name} run`) / m('runc run')).toFixed(2)}x` : '';
    console.log(`${pad(rt.name, 28)}${pad(f('create'), 9)}${pad(f('start'), 9)}${pad(f('delete'), 9)}${pad(f('cycle'), 9)}${pad(f('run'), 9)}${pad(f('state'), 9)}${ratios}`);
  }
  console.log(`\ncreate with Docker's default seccomp filter (linux.seccomp) and without, same bundle (target: at most +5 ms):`);
  for (const rt of runtimes.filter((r) => samples.has(`${r.name} create seccomp`))) {
    const d = m(`${rt.name} create seccomp`) - m(`${rt.name} create`);
    console.log(`  ${pad(rt.name, 28)}${m(`${rt.name} create`).toFixed(1)} ms without, ${m(`${rt.name} create seccomp`).toFixed(1)} ms with (${d >= 0 ? '+' : ''}${d.toFixed(1)} ms)`);
  }
  console.log(`\nper invocation, over node -e 0${extraCa ? ' without NODE_EXTRA_CA_CERTS' : ''} (target: at most +30 ms):`);
  for (const rt of runtimes.filter((r) => r.name.startsWith('containode'))) {
    const over = (k) => `${k} ${(m(`${rt.name} ${k}`) - floor >= 0 ? '+' : '')}${(m(`${rt.name} ${k}`) - floor).toFixed(1)} ms`;
    console.log(`  ${pad(rt.name, 28)}${['state', 'start', 'delete', 'create'].map(over).join(', ')}`);
  }
  if (extraCa) {
    const over = (k) => `${k} ${(m(`containode-oci ${k}`) - m('node -e 0')).toFixed(1)} ms`;
    console.log(`  against node -e 0 as this environment runs it: ${['state', 'start', 'delete', 'create'].map(over).join(', ')}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
