export * from './runtime/index.js';
export { ContainerStore, OCI_VERSION, processAlive, processStartTime, recordAlive, type CgroupRecord, type ContainerRecord, type OciState, type ProcessRef, type Runtime, type Status, type SwitchRecord } from './container/state.js';
export { containodeStore } from './container/containode-store.js';
export { parseRunOptions, type RunOptions, type RawRunOptions, type ImageDefaults } from './container/options.js';
export { resolveUser, type ResolvedUser } from './container/user.js';
