/**
 * Start-up of the short-lived CLIs (containode-oci, mocker), which callers
 * run once per operation: their committed launchers (bin/*.cjs) are
 * CommonJS and call launch(), which runs the single-file CommonJS bundle
 * scripts/bundle.mjs made when it is current, and otherwise imports the ES
 * modules it was made from. Measured for `mocker images`: 95 ms through an
 * ES module launcher and the modules, 76 ms through this (node -e 0: 44 ms);
 * module resolution and linking is most of the difference.
 *
 * A bundle is current while every file it was made from still has the
 * mtime recorded in NAME.inputs.json beside it, so a stale bundle never
 * runs after an edit and `tsc` without re-bundling.
 *
 * CommonJS and Node built-ins only: this runs before anything else.
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** Whether every file a bundle was made from still has the mtime recorded in `inputs` (NAME.inputs.json). */
export function bundleIsCurrent(inputs: string): boolean {
  try {
    const list = JSON.parse(readFileSync(inputs, 'utf8')) as [string, number][];
    return list.length > 0 && list.every(([path, mtimeMs]) => statSync(path).mtimeMs === mtimeMs);
  } catch {
    return false;
  }
}

/**
 * Run a CommonJS file as require() would, with V8's code cache for it kept
 * beside it: once the bundle is one file, compiling it is much of what is
 * left of start-up (`mocker images`: 78 -> 70 ms). The cache is written at
 * the exit of a run that had none, with the functions that run compiled.
 * Its name carries the bundle's mtime and size, since V8 checks a cache
 * against the source's length only (scripts/bundle.mjs removes old ones).
 * Failing to write it (a read-only install) costs only the speed-up.
 * import() does not work in code from the cache on Node 20, so the bundles
 * contain none (scripts/bundle.mjs refuses one).
 */
function runCached(file: string): void {
  const st = statSync(file);
  const cacheFile = `${file}.${Math.trunc(st.mtimeMs)}-${st.size}.v8cache`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {}
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`;
  const script = new Script(wrapped, { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {}
    });
  }
  const module = { exports: {}, filename: file, id: file };
  (script.runInThisContext() as (...a: unknown[]) => void).call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
}

/** Run `bundleDir/NAME.cjs` if it is current, else `modules()`. */
export function launch(bundleDir: string, name: string, modules: () => Promise<unknown>): void {
  if (bundleIsCurrent(`${bundleDir}/${name}.inputs.json`)) {
    runCached(`${bundleDir}/${name}.cjs`);
    return;
  }
  modules().catch((err: unknown) => {
    process.stderr.write(`${name}: cannot load its modules: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
