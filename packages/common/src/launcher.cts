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
import { readFileSync, statSync } from 'node:fs';

function isCurrent(inputs: string): boolean {
  try {
    const list = JSON.parse(readFileSync(inputs, 'utf8')) as [string, number][];
    return list.length > 0 && list.every(([path, mtimeMs]) => statSync(path).mtimeMs === mtimeMs);
  } catch {
    return false;
  }
}

/** Run `bundleDir/NAME.cjs` if it is current, else `modules()`. */
export function launch(bundleDir: string, name: string, modules: () => Promise<unknown>): void {
  if (isCurrent(`${bundleDir}/${name}.inputs.json`)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is CommonJS by design
    require(`${bundleDir}/${name}.cjs`);
    return;
  }
  modules().catch((err: unknown) => {
    process.stderr.write(`${name}: cannot load its modules: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
