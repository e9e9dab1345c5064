import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryLogStore } from './memory-log-store.ts';
import type { LineRecord, LogRecord } from './records.ts';

function line(fn: string, requestId: string, message: string, time = new Date().toISOString()): LineRecord {
  return { type: 'line', seq: 0, time, functionName: fn, requestId, level: 'info', message };
}

describe('MemoryLogStore', () => {
  it('returns records of one function in order with growing seq', async () => {
    const store = new MemoryLogStore();
    store.append(line('a', 'r1', 'one'));
    store.append(line('b', 'r2', 'other function'));
    store.append(line('a', 'r1', 'two'));
    const { items, truncated } = await store.query('a');
    assert.deepEqual(items.map((r) => (r as LineRecord).message), ['one', 'two']);
    assert.ok(items[0]!.seq < items[1]!.seq);
    assert.equal(truncated, false);
    assert.deepEqual((await store.query('missing')).items, []);
  });

  it('drops the oldest records past the record cap', async () => {
    const store = new MemoryLogStore({ maxRecordsPerFunction: 3 });
    for (let i = 0; i < 10; i++) store.append(line('a', `r${i}`, `m${i}`));
    const { items } = await store.query('a');
    assert.deepEqual(items.map((r) => (r as LineRecord).message), ['m7', 'm8', 'm9']);
  });

  it('drops the oldest records past the byte cap', async () => {
    const store = new MemoryLogStore({ maxBytesPerFunction: 10_000 });
    for (let i = 0; i < 50; i++) store.append(line('a', 'r', `${i}:` + 'x'.repeat(1_000)));
    const { items } = await store.query('a');
    assert.ok(items.length >= 5 && items.length <= 10, `kept ${items.length}`);
    assert.ok((items.at(-1) as LineRecord).message.startsWith('49:'));
  });

  it('evicts the function written to least recently past the function cap', async () => {
    const store = new MemoryLogStore({ maxFunctions: 2 });
    store.append(line('a', 'r', 'a'));
    store.append(line('b', 'r', 'b'));
    store.append(line('a', 'r', 'a again'));
    store.append(line('c', 'r', 'c'));
    assert.equal((await store.query('b')).items.length, 0);
    assert.equal((await store.query('a')).items.length, 2);
  });

  it('drops whole buffers of the least recently written functions past the total byte cap', async () => {
    const store = new MemoryLogStore({ maxTotalBytes: 30_000 });
    for (const fn of ['a', 'b', 'c', 'd']) {
      for (let i = 0; i < 10; i++) store.append(line(fn, 'r', 'x'.repeat(1_000)));
    }
    assert.equal((await store.query('a')).items.length, 0);
    assert.equal((await store.query('b')).items.length, 0);
    assert.equal((await store.query('c')).items.length, 10);
    assert.equal((await store.query('d')).items.length, 10);
  });

  it('filters by requestId and time, and applies limit as a tail or from since', async () => {
    const store = new MemoryLogStore();
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < 10; i++) store.append(line('a', i % 2 ? 'odd' : 'even', `m${i}`, new Date(t0 + i * 1000).toISOString()));
    const msgs = (items: LogRecord[]) => items.map((r) => (r as LineRecord).message);
    assert.deepEqual(msgs((await store.query('a', { requestId: 'odd' })).items), ['m1', 'm3', 'm5', 'm7', 'm9']);
    assert.deepEqual(msgs((await store.query('a', { since: t0 + 3000, until: t0 + 5000 })).items), ['m3', 'm4', 'm5']);
    const tail = await store.query('a', { limit: 2 });
    assert.deepEqual(msgs(tail.items), ['m8', 'm9']);
    assert.equal(tail.truncated, true);
    const page = await store.query('a', { since: t0 + 2000, limit: 2 });
    assert.deepEqual(msgs(page.items), ['m2', 'm3']);
    assert.equal(page.truncated, true);
  });

  it('tells subscribers about new records of their function only', async () => {
    const store = new MemoryLogStore();
    const seen: string[] = [];
    const unsubscribe = store.subscribe('a', (r) => seen.push((r as LineRecord).message));
    store.append(line('a', 'r', 'x'));
    store.append(line('b', 'r', 'y'));
    unsubscribe();
    store.append(line('a', 'r', 'z'));
    assert.deepEqual(seen, ['x']);
  });
});
