import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/**
 * Why a root/namespace test cannot run here, or null when it can. Tests
 * declare themselves with test.skip and print this reason instead of passing.
 */
export function whyNoRoot(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  return null;
}

/** Why a test needing these programs on PATH cannot run, or null. */
export function whyMissing(...programs: string[]): string | null {
  for (const p of programs) {
    try {
      execFileSync('sh', ['-c', `command -v ${p}`], { stdio: 'ignore' });
    } catch {
      return `needs ${p} (install it; .ci/run does)`;
    }
  }
  return null;
}

type TestBody = () => void | Promise<void>;
type TestFn = ((name: string, fn: TestBody) => void) & { skip: (name: string, fn?: TestBody) => void };

/** Register a test, or a skipped one that says why, on a uvu suite. */
export function testIf(test: TestFn, reason: string | null, name: string, fn: TestBody): void {
  if (reason) {
    console.log(`  skipped: ${name}: ${reason}`);
    test.skip(name, fn);
  } else test(name, fn);
}
