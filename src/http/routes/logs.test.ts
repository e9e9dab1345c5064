import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIsletError } from '../../errors.ts';
import { parseLogQuery } from './logs.ts';

describe('parseLogQuery', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');

  it('reads ISO times, epoch milliseconds and durations ago', () => {
    assert.deepEqual(parseLogQuery({ since: '2026-01-01T11:00:00Z', until: String(now), requestId: 'abc-1', limit: '5' }, now),
      { since: now - 3_600_000, until: now, requestId: 'abc-1', limit: 5 });
    assert.equal(parseLogQuery({ since: '15m' }, now).since, now - 15 * 60_000);
    assert.equal(parseLogQuery({ since: '2d' }, now).since, now - 2 * 86_400_000);
    assert.deepEqual(parseLogQuery({}, now), {});
  });

  it('rejects bad values with BadRequest naming the parameter', () => {
    for (const [params, word] of [
      [{ limit: '0' }, 'limit'], [{ limit: '1.5' }, 'limit'], [{ limit: '100000' }, 'limit'],
      [{ since: 'yesterday' }, 'since'], [{ until: 'x'.repeat(100) }, 'until'],
      [{ requestId: 'has space' }, 'requestId'], [{ since: '1m', until: '2h' }, 'since'],
    ] as const) {
      assert.throws(() => parseLogQuery(params, now), (err) => isIsletError(err, 'BadRequest') && err.message.includes(word), JSON.stringify(params));
    }
  });
});
