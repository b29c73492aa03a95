/**
 * containode-oci entry point. The CLI is main.ts; `pnpm bundle:oci`
 * (bench/oci-bundle.mjs) also bundles it into one file, which starts about
 * 40 ms faster because it leaves out the parts of @containet/common a
 * command does not use (ip-address alone costs more than that to load).
 * The bundle is used only when it is newer than the last tsc build of this
 * package, so a stale one never runs.
 */
import { statSync } from 'node:fs';

const bundle = new URL('../../oci/containode-oci.mjs', import.meta.url);
const buildInfo = new URL('../../tsconfig.tsbuildinfo', import.meta.url);

function bundleIsFresh(): boolean {
  try {
    return statSync(bundle).mtimeMs >= statSync(buildInfo).mtimeMs;
  } catch {
    return false;
  }
}

await import(bundleIsFresh() ? bundle.href : './main.js');
