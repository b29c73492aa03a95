export { CAPABILITY_NAMES, DEFAULT_CAPABILITIES, chooseCapabilities, lastCapability, normalizeCapability, type CapabilityChoice } from './capabilities.js';
export { DEFAULT_COUNT, DEFAULT_HOST_START, checkIdMap, defaultIdMapping, hostIdOf, parseIdMapping } from './idmap.js';
export { HOOK_TIMEOUT_MS, checkNetHook, runNetHook } from './hook.js';
export { MIN_MEMORY, formatBytes, parseCpus, parseMemory, parsePidsLimit } from './size.js';
export { CGROUPNS_FILE, addLimitOptions, limitsHelp, parseLimitOptions, type ContainerLimits, type LimitEnvironment, type RawLimitOptions } from './options.js';
export { amendSpecWithLimits, prepareLimits, withContainerLimits, type LimitsSession } from './apply.js';
