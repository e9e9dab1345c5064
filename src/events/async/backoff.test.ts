import { it } from 'node:test';
import assert from 'node:assert/strict';
import { retryDelayMs } from './backoff.ts';

it('doubles the retry delay per attempt, caps it, and jitters within the upper half', () => {
  const b = { baseMs: 100, maxMs: 1000 };
  assert.equal(retryDelayMs(1, b, () => 0), 50);
  assert.equal(retryDelayMs(1, b, () => 1), 100);
  assert.equal(retryDelayMs(3, b, () => 1), 400);
  assert.equal(retryDelayMs(10, b, () => 1), 1000);
  assert.equal(retryDelayMs(10, b, () => 0), 500);
});
