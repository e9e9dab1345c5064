import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIsletError } from '../errors.ts';
import { TestFunctions, until } from './testing.ts';

const BUSY = `export function handler(event) { const end = Date.now() + event.ms; while (Date.now() < end); return 'done' }`;

describe('executing isolates', () => {
  it('keeps the main thread responsive while a function burns CPU', async () => {
    const fns = new TestFunctions();
    try {
      await fns.deploy('busy', BUSY, { timeoutMs: 10_000 });
      let hostTicks = 0;
      const ticker = setInterval(() => { hostTicks++; }, 10);
      const result = await fns.runtime.invoke('busy', { kind: 'event', json: '{"ms":1500}' }, { trigger: 'invoke' });
      clearInterval(ticker);
      assert.equal(result.outcome, 'success');
      // A function running on the main thread would block every host timer until it returned.
      assert.ok(hostTicks >= 5, `host timers fired ${hostTicks} times while the function ran`);
    } finally {
      await fns.close();
    }
  });

  it('runs no more isolates at once than maxExecuting', async () => {
    const fns = new TestFunctions({ maxExecuting: 1 });
    try {
      await fns.deploy('busy', BUSY, { timeoutMs: 10_000 });
      let most = 0;
      const sampler = setInterval(() => { most = Math.max(most, fns.runtime.stats().executing); }, 5);
      const results = await Promise.all([1, 2, 3].map(() =>
        fns.runtime.invoke('busy', { kind: 'event', json: '{"ms":200}' }, { trigger: 'invoke' })));
      clearInterval(sampler);
      assert.deepEqual(results.map((r) => r.outcome), ['success', 'success', 'success']);
      assert.equal(most, 1);
    } finally {
      await fns.close();
    }
  });

  it('frees the executing slot while an invocation awaits a timer', async () => {
    const fns = new TestFunctions({ maxExecuting: 1 });
    try {
      await fns.deploy('waiter', `export async function handler() { await new Promise((r) => setTimeout(r, 400)); return Date.now() }`);
      await fns.deploy('quick', `export const handler = () => Date.now()`);
      await fns.runtime.invoke('quick', { kind: 'event', json: '{}' }, { trigger: 'invoke' }); // warm
      const waiting = fns.runtime.invoke('waiter', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
      await until(() => fns.runtime.stats().inFlight === 1 && fns.runtime.stats().executing === 0);
      const quick = await fns.runtime.invoke('quick', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
      const waited = await waiting;
      assert.equal(quick.outcome, 'success');
      assert.equal(waited.outcome, 'success');
      // The only slot was free while 'waiter' slept: 'quick' ran (and ended) first.
      assert.ok(Number(JSON.parse((quick.value as { json: string }).json)) < Number(JSON.parse((waited.value as { json: string }).json)));
    } finally {
      await fns.close();
    }
  });

  it('keeps the slot while a function that set a timer still runs synchronously', async () => {
    const fns = new TestFunctions({ maxExecuting: 1 });
    try {
      // Setting a timer (or starting a fetch) must not free the slot before the synchronous part ends.
      await fns.deploy('spin', `export async function handler() {
        setTimeout(() => {}, 1);
        const start = Date.now(); while (Date.now() < start + 150);
        return [start, Date.now()] }`, { timeoutMs: 10_000 });
      await fns.runtime.invoke('spin', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
      await fns.runtime.invoke('spin', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
      const results = await Promise.all([1, 2, 3].map(() => fns.runtime.invoke('spin', { kind: 'event', json: '{}' }, { trigger: 'invoke' })));
      const spans = results.map((r) => JSON.parse((r.value as { json: string }).json) as [number, number]).sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++) {
        assert.ok(spans[i]![0] >= spans[i - 1]![1], `spins overlap: ${JSON.stringify(spans)}`);
      }
    } finally {
      await fns.close();
    }
  });

  it('lends callers queued for an executing slot no isolate of their own', async () => {
    const fns = new TestFunctions({ maxExecuting: 1 });
    try {
      await fns.deploy('quick', `export default { fetch() { return new Response('hi') } }`);
      const results = await Promise.all(Array.from({ length: 16 }, () =>
        fns.runtime.invoke('quick', { kind: 'event', json: '{}' }, { trigger: 'invoke' })));
      assert.deepEqual(new Set(results.map((r) => r.outcome)), new Set(['success']));
      // One slot: each caller takes the isolate the previous one handed back (a slow run under
      // a loaded machine may free its slot early, hence not exactly 1).
      const warm = fns.runtime.stats().warmIsolates;
      assert.ok(warm >= 1 && warm <= 3, `${warm} isolates for 16 callers of a quick function`);
    } finally {
      await fns.close();
    }
  });

  it('lets an in-flight invocation finish on close', async () => {
    const fns = new TestFunctions();
    await fns.deploy('slow', `export async function handler() { await new Promise((r) => setTimeout(r, 200)); return 'finished' }`);
    const running = fns.runtime.invoke('slow', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
    await until(() => fns.runtime.stats().inFlight === 1);
    await fns.close();
    const result = await running;
    assert.equal(result.outcome, 'success', JSON.stringify(result.error));
    assert.deepEqual(result.value, { kind: 'event', json: '"finished"' });
  });

  it('refuses new invocations once closed', async () => {
    const fns = new TestFunctions();
    await fns.deploy('any', `export const handler = () => 1`);
    assert.equal((await fns.runtime.invoke('any', { kind: 'event', json: '{}' }, { trigger: 'invoke' })).outcome, 'success');
    await fns.close();
    await assert.rejects(fns.runtime.invoke('any', { kind: 'event', json: '{}' }, { trigger: 'invoke' }),
      (err) => isIsletError(err, 'ShuttingDown'));
    assert.equal(fns.runtime.stats().warmIsolates, 0);
  });
});
