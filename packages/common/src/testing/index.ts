/**
 * Fixtures for tests that need root, namespaces and devices. Every name is
 * unique per process and test, and every resource is released by a Cleanup
 * stack that tests run in `finally`, also when they fail.
 */
export * from './exec.js';
export * from './cleanup.js';
export * from './netns.js';
export * from './rootfs.js';
export * from './skip.js';
export * from './cli-docs.js';
