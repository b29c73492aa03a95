export * from './runtime/index.js';
export * from './container/records.js';
export { parseRunOptions, type RunOptions, type RawRunOptions, type ImageDefaults } from './container/options.js';
export { resolveUser, type ResolvedUser } from './container/user.js';
