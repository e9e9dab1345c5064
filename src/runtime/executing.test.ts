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
