/** @containet/cni: the CNI plugin's engine, for the CLI and tests. */
export { SUPPORTED_VERSIONS, LATEST_VERSION } from './versions.js';
export { CniError, CNI_ERR, type CniErrorResult } from './errors.js';
export type { CniResult, CniInterface, CniIpConfig, CniRoute, CniDns, VersionResult } from './result.js';
export { portIdentity, attachmentMac, PORT_PREFIX } from './port-identity.js';
export { handler as reattach, type ReattachOutcome } from './commands/reattach.js';
