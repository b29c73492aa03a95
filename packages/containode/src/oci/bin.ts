/**
 * containode-oci entry point. The CLI is main.ts; `pnpm bundle:oci`
 * (scripts/bundle-oci.mjs, run by `pnpm build`) also bundles it into one CommonJS file, which
 * starts about 40 ms faster: one file instead of ~40 ES modules to resolve,
 * link and compile, and each command loads only the parts of
 * @containet/common and the Node built-ins it uses (CommonJS require()s stay
 * where they are; ES imports are all hoisted). It is require()d, not
 * import()ed, to skip the scan for named exports. The bundle is used only
 * while every file it was made from is unchanged (their mtimes are in
 * containode-oci.inputs.json), so a stale one never runs.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../../oci/containode-oci.cjs', import.meta.url);
const inputs = new URL('../../oci/containode-oci.inputs.json', import.meta.url);

function bundleIsFresh(): boolean {
  try {
    const list = JSON.parse(readFileSync(inputs, 'utf8')) as [string, number][];
    return list.length > 0 && list.every(([path, mtimeMs]) => statSync(path).mtimeMs === mtimeMs);
  } catch {
    return false;
  }
}

if (bundleIsFresh()) createRequire(import.meta.url)(fileURLToPath(bundle));
else await import('./main.js');
