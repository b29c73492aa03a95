#!/usr/bin/env node
// pnpm bench:pull — pull a multi-layer image from a local docker-registry
// with mocker and with `skopeo copy docker://… oci:DIR`, then unpack it with
// `mocker unpack` and with `umoci unpack`; each run alternates the tools on
// fresh directories, and the medians are printed with their ratios.
// Env: BENCH_RUNS (default 3), BENCH_FILES (small files per layer, default 2000),
// BENCH_BLOB_MB (one incompressible file per layer, MiB, default 8),
// BENCH_BASELINE (another mocker to pull with in the same runs, e.g. a copy
// of an earlier build run like bin/mocker.cjs: on a shared, loaded machine
// only comparisons made in one run mean anything).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { makeCertificates, pushImage, startRegistry } from '../dist/test/fixtures.js';

const MOCKER = fileURLToPath(new URL('../bin/mocker.cjs', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FILES = Number(process.env.BENCH_FILES ?? 2000);
const BLOB_MB = Number(process.env.BENCH_BLOB_MB ?? 8);
const BASELINE = process.env.BENCH_BASELINE || null;

for (const tool of ['docker-registry', 'skopeo', 'umoci']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench:pull needs ${tool} (bash scripts/setup.sh installs it)`);
    process.exit(1);
  }
}

function layer(n) {
  const entries = [{ name: `l${n}/`, type: 'directory' }];
  for (let d = 0; d < 20; d++) entries.push({ name: `l${n}/d${d}/`, type: 'directory' });
  for (let i = 0; i < FILES; i++) {
    // Text-like files compress like real ones; a share of random data does not.
    const size = 200 + ((i * 7919) % 6000);
    const data = i % 5 === 0 ? randomBytes(size) : Buffer.from(`line ${i} of layer ${n} `.repeat(Math.ceil(size / 24)).slice(0, size));
    entries.push({ name: `l${n}/d${i % 20}/f${i}`, data, mode: 0o644 });
  }
  entries.push({ name: `l${n}/blob.bin`, data: randomBytes(BLOB_MB << 20) });
  for (let i = 0; i < 50; i++) entries.push({ name: `l${n}/link${i}`, type: 'symlink', linkname: `d${i % 20}/f${i}` });
  return { entries, compression: 'gzip' };
}

// The root filesystem here is ext4 mounted with `discard`: removing the last
// run's 10,000-file trees, or the previous tool's dirty pages, slows file
// creation for seconds afterwards (an empty file's create measured at 24 µs
// when quiet and 800 µs after a large removal). Each timed command therefore
// starts after sync(1), so neither tool pays for the other's writes.
function time(cmd, args) {
  spawnSync('sync');
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

/**
 * The same image from a second docker-registry serving the same storage
 * over TLS (a test CA's certificate for registry.test), as Docker Hub is
 * reached. Loopback registries are plain HTTP to both tools, so each run
 * happens in a private mount namespace whose /etc/hosts names registry.test
 * 127.0.0.1. Needs root, unshare and openssl; otherwise skipped.
 */
let tlsReg;
async function pullOverHttps() {
  const missing = ['unshare', 'openssl'].find((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (process.getuid() !== 0 || missing) {
    console.log(`pull over HTTPS skipped: ${missing ? `${missing} is missing` : 'needs root (unshare -m)'}`);
    return null;
  }
  const certs = makeCertificates(work, ['registry.test']);
  tlsReg = await startRegistry({ storage: join(reg.dir, 'data'), tls: certs });
  const certDir = join(work, 'skopeo-certs');
  mkdirSync(certDir);
  copyFileSync(certs.ca, join(certDir, 'ca.crt'));
  writeFileSync(join(work, 'hosts'), '127.0.0.1 localhost\n127.0.0.1 registry.test\n');
  const ref = `registry.test:${tlsReg.host.split(':')[1]}/bench/app:v1`;
  // Each tool's directory is removed (and the removal synced) right before
  // its own run, and the order alternates as in the plain-HTTP runs: with
  // both removed before the first tool, it alone paid for the discards.
  const tools = BASELINE ? ['m', 's', 'b'] : ['m', 's'];
  const pullOf = {
    m: `NODE_EXTRA_CA_CERTS=${certs.ca} ${MOCKER} --store "$1/https-m" pull -q ${ref} >/dev/null`,
    b: `NODE_EXTRA_CA_CERTS=${certs.ca} ${BASELINE} --store "$1/https-b" pull -q ${ref} >/dev/null`,
    s: `skopeo copy -q --src-cert-dir ${certDir} docker://${ref} "oci:$1/https-s:v1"`,
  };
  const script = [
    'mount --bind "$1/hosts" /etc/hosts',
    'ms() { echo $(( $(date +%s%N) / 1000000 )); }',
    ...Array.from({ length: RUNS }, (_, run) => tools.slice(run % tools.length).concat(tools.slice(0, run % tools.length)))
      .flat()
      .map((k) => `rm -rf "$1/https-${k}"; sync; a=$(ms); ${pullOf[k]} || exit 1; echo ${k} $(( $(ms) - a ))`),
  ].join('\n');
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', work], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pull over HTTPS failed: ${r.stderr}`);
  const times = (k) => r.stdout.split('\n').filter((l) => l.startsWith(`${k} `)).map((l) => Number(l.slice(2)));
  return { m: times('m'), s: times('s'), b: times('b') };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const reg = await startRegistry();
const work = mkdtempSync(join(tmpdir(), 'bench-pull-'));
// Unpacking to tmpfs as well: the tools' own cost, without this disk's create latency.
const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/bench-pull-') : null;
try {
  process.stdout.write('building and pushing a 5-layer image ... ');
  const layers = [];
  for (let i = 0; i < 5; i++) layers.push(layer(i));
  const img = await pushImage(reg.url, 'bench/app', 'v1', { layers });
  const size = img.layerBlobs.reduce((a, b) => a + b.length, 0);
  console.log(`${(size / 1e6).toFixed(1)} MB compressed, ${5 * (FILES + 71)} entries`);
  const ref = `${reg.host}/bench/app:v1`;
  const t = { mockerPull: [], skopeoPull: [], baselinePull: [], mockerUnpack: [], umociUnpack: [], mockerShm: [], umociShm: [] };
  for (let run = 0; run < RUNS; run++) {
    const store = join(work, `store${run}`);
    const oci = join(work, `oci${run}`);
    const order = run % 2 === 0 ? ['m', 's'] : ['s', 'm'];
    const pulls = BASELINE ? (['m', 's', 'b'].slice(run % 3).concat(['m', 's', 'b'].slice(0, run % 3))) : order;
    for (const o of pulls) {
      if (o === 'm') t.mockerPull.push(time(MOCKER, ['--store', store, 'pull', '-q', ref]));
      else if (o === 'b') t.baselinePull.push(time(BASELINE, ['--store', join(work, `baseline${run}`), 'pull', '-q', ref]));
      else t.skopeoPull.push(time('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}:v1`]));
    }
    for (const o of order) {
      if (o === 'm') t.mockerUnpack.push(time(MOCKER, ['--store', store, 'unpack', '-q', ref, join(work, `m-root${run}`)]));
      else t.umociUnpack.push(time('umoci', ['unpack', '--image', `${oci}:v1`, join(work, `u-bundle${run}`)]));
    }
    for (const o of shm ? order : []) {
      if (o === 'm') t.mockerShm.push(time(MOCKER, ['--store', store, 'unpack', '-q', ref, join(shm, 'm-root')]));
      else t.umociShm.push(time('umoci', ['unpack', '--image', `${oci}:v1`, join(shm, 'u-bundle')]));
    }
    for (const d of [store, oci, join(work, `baseline${run}`), join(work, `m-root${run}`), join(work, `u-bundle${run}`), ...(shm ? [join(shm, 'm-root'), join(shm, 'u-bundle')] : [])]) rmSync(d, { recursive: true, force: true });
  }
  const row = (what, ours, theirs, ref2) => {
    const a = median(ours);
    const b = median(theirs);
    console.log(`${what.padEnd(16)} mocker ${a.toFixed(0).padStart(6)} ms   ${ref2.padEnd(6)} ${b.toFixed(0).padStart(6)} ms   ratio ${(b / a).toFixed(2)}x ${b >= a ? '(mocker faster)' : '(mocker slower)'}`);
  };
  // mocker runs as installed: its launcher (bin/mocker.cjs), whose shebang
  // defers NODE_EXTRA_CA_CERTS to the first HTTPS request.
  console.log(`median of ${RUNS} runs (each a fresh process and directory)${process.env.NODE_EXTRA_CA_CERTS ? '; NODE_EXTRA_CA_CERTS is set here' : ''}:`);
  row('pull', t.mockerPull, t.skopeoPull, 'skopeo');
  if (BASELINE) row('pull (baseline)', t.baselinePull, t.skopeoPull, 'skopeo');
  row('unpack', t.mockerUnpack, t.umociUnpack, 'umoci');
  if (shm) row('unpack to tmpfs', t.mockerShm, t.umociShm, 'umoci');
  const https = await pullOverHttps();
  if (https) row('pull over HTTPS', https.m, https.s, 'skopeo');
  if (https && BASELINE) row('HTTPS (baseline)', https.b, https.s, 'skopeo');
} finally {
  await tlsReg?.stop();
  await reg.stop();
  rmSync(work, { recursive: true, force: true });
  if (shm) rmSync(shm, { recursive: true, force: true });
}
