#!/usr/bin/env node
// Bundles the short-lived CLIs into one CommonJS file each, which their
// entry points (bin.ts) prefer while none of the files a bundle was made
// from has changed (their mtimes are kept beside it in NAME.inputs.json):
//   containode-oci  packages/containode/dist/src/oci/main.js -> packages/containode/dist/bundle/containode-oci.cjs
//   mocker          packages/mocker/dist/src/main.js         -> packages/mocker/dist/bundle/mocker.cjs
// One file compiles faster than dozens of ES modules resolve and link, and
// CommonJS keeps each require() where it is, so a command loads only what
// it uses (measured: mocker's first request 94 -> 28 ms after start).
//
// Modules that locate files from their own import.meta.url (native.ts finds
// native/build and resolves koffi from there) keep their original URL, so the
// bundle behaves as the modules do. koffi stays a runtime require.
//
// Usage: node scripts/bundle.mjs [NAME...]   (run by pnpm build; also pnpm bundle)
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// esbuild is a devDependency of the containode package, not of the root.
const { build } = createRequire(`${root}packages/containode/package.json`)('esbuild');

// `common`: the modules of @containet/common that a target's static imports
// may take (see commonCore below). containode-oci's --net parser
// (containet.net.N) takes address, which loads ip-address on first use.
const TARGETS = {
  'containode-oci': { pkg: 'containode', entry: 'dist/src/oci/main.js', common: ['errors', 'cli', 'native', 'address'] },
  mocker: { pkg: 'mocker', entry: 'dist/src/main.js', common: ['errors', 'cli', 'settings', 'native-dir', 'each-limit'] },
  'containet-cni': { pkg: 'cni', entry: 'dist/src/main.js', common: ['errors', 'cli', 'settings', 'native', 'identity', 'framing', 'fdpass', 'control-client', 'cni-records'], snapshot: true },
};

const keepImportMetaUrl = {
  name: 'keep-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'js' };
    });
  },
};

// Static imports of @containet/common from the target's own modules take
// only the core they use; the rest of the package (control client, address
// parsing with ip-address, fd passing, poller) comes with the dynamic
// import()s that need it. Without this, the index would initialise all of
// it at start-up for every command. A static import of anything else fails
// this build rather than going unnoticed.
const commonSrc = `${root}packages/common/dist/src/`;
function commonCore(pkgDir, modules) {
  return {
    name: 'containet-common-core',
    setup(b) {
      b.onResolve({ filter: /^@containet\/common$/ }, (args) => {
        if (args.kind !== 'import-statement' || !args.importer.startsWith(`${pkgDir}/dist/src/`)) return undefined;
        return { path: 'common-core', namespace: 'containet' };
      });
      b.onLoad({ filter: /^common-core$/, namespace: 'containet' }, () => ({
        contents: modules.map((f) => `export * from ${JSON.stringify(`${commonSrc}${f}.js`)};`).join('\n'),
        loader: 'js',
        resolveDir: commonSrc,
      }));
    },
  };
}

// commander requires node:child_process when it loads, for executable
// subcommands, which mocker does not have: 7 ms of every start. Its copy
// gets a stand-in that loads the module on first use.
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) => (args.importer.includes('/commander/') ? { path: 'lazy-child-process', namespace: 'containet' } : undefined));
    b.onLoad({ filter: /^lazy-child-process$/, namespace: 'containet' }, () => ({
      contents: "let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require('node:child_process'))[k] });",
      loader: 'js',
    }));
  },
};

async function bundle(name) {
  const t = TARGETS[name];
  if (!t) throw new Error(`unknown bundle ${name}; known: ${Object.keys(TARGETS).join(', ')}`);
  const pkgDir = `${root}packages/${t.pkg}`;
  const outDir = `${pkgDir}/dist/bundle`;
  await mkdir(outDir, { recursive: true });
  // A snapshot of the bundle about to be replaced must not run with the new one's inputs.
  await rm(`${outDir}/${name}.blob`, { force: true });
  const result = await build({
    entryPoints: [`${pkgDir}/${t.entry}`],
    outfile: `${outDir}/${name}.cjs`,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['koffi'],
    plugins: [commonCore(pkgDir, t.common), lazyChildProcessForCommander, keepImportMetaUrl],
    logLevel: 'warning',
    metafile: true,
    absWorkingDir: root,
    legalComments: 'none',
  });
  // The entry point uses the bundle only while every input is unchanged.
  const inputs = await Promise.all(
    Object.keys(result.metafile.inputs).filter((rel) => !rel.startsWith('containet:')).map(async (rel) => {
      const path = resolve(root, rel);
      return [path, (await stat(path)).mtimeMs];
    }),
  );
  await writeFile(`${outDir}/${name}.inputs.json`, JSON.stringify(inputs));
  // The launcher runs bundles from V8's code cache, where import() fails on
  // Node 20 (packages/common/src/launcher.cts): refuse a bundle with one.
  const text = await readFile(`${outDir}/${name}.cjs`, 'utf8');
  const dynamic = text.match(/[^\w.$]import\(\s*["'`][^"'`]*/);
  if (dynamic) throw new Error(`bundle ${name} contains a dynamic import (${dynamic[0].trim()}...): use require() for Node built-ins`);
  // Code caches of earlier builds of this bundle.
  for (const f of await readdir(outDir)) if (f.startsWith(`${name}.cjs.`) && f.endsWith('.v8cache')) await rm(`${outDir}/${f}`, { force: true });
  if (t.snapshot) await buildSnapshot(`${outDir}/${name}`);
  const out = Object.values(result.metafile.outputs)[0];
  console.log(`bundled ${name}: ${Object.keys(result.metafile.inputs).length} modules, ${(out.bytes / 1024).toFixed(0)} KiB -> packages/${t.pkg}/dist/bundle/${name}.cjs`);
}

// `snapshot`: a V8 startup snapshot of the bundle, NAME.blob, that
// bin/NAME.cjs starts from (node --snapshot-blob): the bundle's modules and
// the Node built-ins they load are then initialised before the process
// starts (containet-cni ADD: see bench/cni.mjs). The bundle's main module
// names the function a run starts with when it sees --build-snapshot. A blob
// only loads into the Node.js binary that made it; node refuses another's
// with exit status 14, on which the launcher runs the bundle as before. Node
// warns that net and child_process are not verified in snapshots: the
// plugin's e2e tests run through it.
async function buildSnapshot(base) {
  const blob = `${base}.blob`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  // A build of its own name, so that two builds at once each rename a whole blob.
  const tmp = `${blob}.${process.pid}.tmp`;
  const r = spawnSync(process.execPath, ['--no-warnings', '--snapshot-blob', tmp, '--build-snapshot', `${base}.cjs`], { encoding: 'utf8', env });
  if (r.status !== 0) {
    await rm(tmp, { force: true });
    // The error's own line, not node's source excerpt or version trailer.
    const why = r.stderr.split('\n').find((l) => /^\S*(Error|error)\b|^\[/.test(l.trim())) ?? r.stderr.trim().split('\n').pop();
    console.warn(`bundle: no startup snapshot for ${base}.cjs (node --build-snapshot exited ${r.status ?? r.signal}: ${why?.trim()}); it runs without one`);
    return;
  }
  await rename(tmp, blob);
}

const names = process.argv.slice(2);
for (const name of names.length ? names : Object.keys(TARGETS)) await bundle(name);
