export * from './runtime/index.js';
export * from './container/records.js';
