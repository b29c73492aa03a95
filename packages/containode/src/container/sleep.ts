/**
 * Block this thread for `ms` milliseconds. The runtime's commands are
 * short synchronous sequences (a lock to retry, a fifo or a cgroup to poll)
 * with nothing else for the event loop to do meanwhile.
 */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
