/**
 * Sizes and counts as users write them for --memory, --cpus and
 * --pids-limit, checked once here so that nothing is created for a value
 * that can't work.
 */
import { availableParallelism } from 'node:os';
import { UsageError } from '@containet/common';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * The smallest --memory accepted (docker's minimum too): below it the
 * container's init and a shell are OOM-killed before the program starts,
 * which reads like a containode failure.
 */
export const MIN_MEMORY = 6 * 1024 * 1024;

/** "512m", "1g", "1.5G", "1048576", "64MiB", "64mb" → bytes (binary units, as docker). */
export function parseMemory(text: string): number {
  const m = text.trim().match(/^(\d+(?:\.\d+)?|\.\d+)\s*([kmgt]?)(?:i?b)?$/i);
  const hint = 'give a size in bytes or with a unit: 512m, 1g, 1048576';
  if (/^\s*-/.test(text)) throw new UsageError(`invalid --memory ${text}: a size can't be negative`, hint);
  if (!m) throw new UsageError(`invalid --memory ${text}: not a size`, hint);
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`invalid --memory ${text}: too large`, hint);
  if (bytes < MIN_MEMORY) throw new UsageError(`invalid --memory ${text}: the minimum is 6m`, hint);
  return bytes;
}

/** "0.5", "2" → CPUs; more than 0 and at most the CPUs this machine has. */
export function parseCpus(text: string, cpus: number = availableParallelism()): number {
  const hint = `give a number of CPUs from 0.01 to ${cpus}, e.g. 0.5`;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text.trim())) throw new UsageError(`invalid --cpus ${text}: not a number`, hint);
  const n = Number(text);
  if (!(n > 0)) throw new UsageError(`invalid --cpus ${text}: must be more than 0`, hint);
  if (n < 0.01) throw new UsageError(`invalid --cpus ${text}: the minimum is 0.01`, hint);
  if (n > cpus) throw new UsageError(`invalid --cpus ${text}: this machine has ${cpus} CPU${cpus === 1 ? '' : 's'}`, hint);
  return n;
}

/** A positive count of tasks (processes and threads). */
export function parsePidsLimit(text: string): number {
  const hint = 'give how many processes the container may have at once, e.g. 100';
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`invalid --pids-limit ${text}: not a whole number`, hint);
  const n = Number(text);
  if (n < 1 || !Number.isSafeInteger(n)) throw new UsageError(`invalid --pids-limit ${text}: must be at least 1`, hint);
  return n;
}

/** 33554432 → "32m", for messages. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['g', 1024 ** 3], ['m', 1024 ** 2], ['k', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes} bytes`;
}
