#!/usr/bin/env node
// Bundles containode-oci (packages/containode/dist/src/oci/main.js, built
// by tsc) into one CommonJS file, packages/containode/dist/oci/containode-oci.cjs,
// which the entry point (src/oci/bin.ts) prefers while none of the files it
// was made from has changed (their mtimes are kept in containode-oci.inputs.json).
// One file compiles faster than ~30 ES modules resolve and link, and CommonJS
// keeps each require() where it is, so a command loads only what it uses.
//
// Modules that locate files from their own import.meta.url (native.ts finds
// native/build and resolves koffi from there) keep their original URL, so the
// bundle behaves as the modules do. koffi stays a runtime require.
//
// Usage: node scripts/bundle-oci.mjs   (run by pnpm build; also pnpm bundle:oci)
import { readFile, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = `${root}packages/containode`;
// esbuild is a devDependency of the containode package, not of the root.
const { build } = createRequire(`${pkg}/package.json`)('esbuild');

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

// Static imports of @containet/common from containode's modules take only
// the core they use (errors, cli, native); the rest of the package (control
// client, address parsing with ip-address, fd passing, poller) comes with the
// dynamic import()s that create/exec/network make. Without this, the index
// would initialise all of it at start-up for every command. A static import
// of anything else fails this build rather than going unnoticed.
const commonSrc = `${root}packages/common/dist/src/`;
const commonCore = {
  name: 'containet-common-core',
  setup(b) {
    b.onResolve({ filter: /^@containet\/common$/ }, (args) => {
      if (args.kind !== 'import-statement' || !args.importer.startsWith(`${pkg}/dist/src/`)) return undefined;
      return { path: 'common-core', namespace: 'containet' };
    });
    b.onLoad({ filter: /^common-core$/, namespace: 'containet' }, () => ({
      contents: ['errors', 'cli', 'native'].map((f) => `export * from ${JSON.stringify(`${commonSrc}${f}.js`)};`).join('\n'),
      loader: 'js',
      resolveDir: commonSrc,
    }));
  },
};

const result = await build({
  entryPoints: [`${pkg}/dist/src/oci/main.js`],
  outfile: `${pkg}/dist/oci/containode-oci.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['koffi'],
  plugins: [commonCore, keepImportMetaUrl],
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
await writeFile(`${pkg}/dist/oci/containode-oci.inputs.json`, JSON.stringify(inputs));
const out = Object.values(result.metafile.outputs)[0];
console.log(`bundled containode-oci: ${Object.keys(result.metafile.inputs).length} modules, ${(out.bytes / 1024).toFixed(0)} KiB -> packages/containode/dist/oci/containode-oci.cjs`);
