export * from './runtime/index.js';
export * from './container/records.js';
export { parseRunOptions, type RunOptions, type RawRunOptions } from './container/options.js';
