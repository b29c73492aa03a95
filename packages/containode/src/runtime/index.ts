export * from './spec.js';
export * from './spawn.js';
