/**
 * The CNI spec versions this plugin speaks. 1.0.0 and 1.1.0 share the
 * configuration and result formats; 1.1.0 adds STATUS, GC and
 * `cni.dev/valid-attachments` (SPEC.md). Older versions (0.x) had a
 * different result format and single-plugin configs, and are refused.
 */
export const SUPPORTED_VERSIONS = ['1.0.0', '1.1.0'] as const;

export const LATEST_VERSION = '1.1.0';

export function isSupportedVersion(v: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}
