import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffDelay, retryAfterMs, MAX_BACKOFF_MS } from '../src/registry/retry.js';

test('Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3); nonsense is ignored', () => {
  const now = Date.parse('2026-01-02T03:04:05Z');
  assert.is(retryAfterMs('2', now), 2000);
  assert.is(retryAfterMs(' 0 ', now), 0);
  assert.is(retryAfterMs('Fri, 02 Jan 2026 03:04:35 GMT', now), 30_000);
  assert.is(retryAfterMs('Fri, 02 Jan 2026 03:00:00 GMT', now), 0, 'a date in the past: at once');
  assert.is(retryAfterMs(undefined, now), undefined);
  assert.is(retryAfterMs('soon', now), undefined);
  assert.is(retryAfterMs('-1', now), undefined);
});

test('backoff doubles from the base, is jittered between half and all of it, and is capped', () => {
  assert.is(backoffDelay(1, 250, () => 0), 125);
  assert.is(backoffDelay(1, 250, () => 1), 250);
  assert.is(backoffDelay(3, 250, () => 1), 1000);
  assert.is(backoffDelay(3, 250, () => 0.5), 750);
  assert.is(backoffDelay(30, 250, () => 1), MAX_BACKOFF_MS);
});

test.run();
