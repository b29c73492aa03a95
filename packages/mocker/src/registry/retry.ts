/**
 * How long to wait before trying a registry again: exponential backoff with
 * jitter for network failures and 5xx (so that many clients cut off at the
 * same moment do not come back at the same moment, as AWS's "Exponential
 * Backoff And Jitter" argues), and a registry's own `Retry-After`
 * (RFC 9110 §10.2.3: seconds, or an HTTP date) for 429 and 503.
 */

/** Longest Retry-After waited for; a registry asking for more is reported at once. */
export const MAX_RETRY_AFTER_MS = 60_000;
/** Longest backoff between two attempts. */
export const MAX_BACKOFF_MS = 8_000;

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1): a random
 * time between half and all of base·2^(attempt-1), at most MAX_BACKOFF_MS.
 */
export function backoffDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const full = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.min(attempt - 1, 16));
  return Math.round(full / 2 + random() * (full / 2));
}

/** Retry-After in milliseconds from `now`; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP-date names its day and month (RFC 9110 §5.6.7); Date.parse would take '-1' as a year.
  const at = /[A-Za-z]/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - now);
}

/** What a caller is told before a wait, to show in its progress. */
export interface RetryEvent {
  /** `127.0.0.1:5000 answered 429 Too Many Requests (Retry-After 2 s)`. */
  reason: string;
  delayMs: number;
  /** The attempt that failed, from 1. */
  attempt: number;
}

export type RetryListener = (event: RetryEvent) => void;
