export * from './spec.js';
export * from './proxy.js';
