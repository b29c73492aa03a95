/** containode-oci's defaults: its state directory and its own version. */
export const DEFAULT_ROOT = '/run/containode-oci';
/** containode-oci's own version (`--version`, `features`). */
export const RUNTIME_VERSION = '0.1.0';
