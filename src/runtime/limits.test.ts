import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isIsletError } from '../errors.ts';
import type { DiscardReason } from '../invoke/types.ts';
import { ConcurrencyLimiter } from './limits.ts';
import { TestFunctions, httpPayload, httpResult, until } from './testing.ts';

const event = { kind: 'event' as const, json: '{}' };

describe('function limits', () => {
  const discards: Array<{ functionName: string; reason: DiscardReason }> = [];
  let fns: TestFunctions;
  before(async () => {
    fns = new TestFunctions({ observer: { onIsolateDiscard: (d) => discards.push(d) } });
    await fns.deploy('neighbour', `let n = 0; export default { fetch() { return new Response('ok ' + ++n) } }`);
  });
  after(() => fns.close());

  async function expectLimit(name: string, code: string, errorType: string, outcome: string, reason: DiscardReason, config = {}) {
    await fns.deploy(name, code, { timeoutMs: 300, ...config });
    const before = discards.length;
    const result = await fns.runtime.invoke(name, event, { trigger: 'invoke' });
    assert.equal(result.outcome, outcome, JSON.stringify(result.error));
    assert.equal(result.error?.errorType, errorType);
    assert.equal(result.report.outcome, outcome);
    await until(() => discards.slice(before).some((d) => d.functionName === name && d.reason === reason));
    // The neighbour is untouched, and the function itself answers again on a fresh isolate.
    assert.match(httpResult(await fns.runtime.invoke('neighbour', httpPayload(), { trigger: 'http' })).text, /^ok \d+$/);
    const again = await fns.runtime.invoke(name, { kind: 'event', json: '{"quick":true}' }, { trigger: 'invoke' });
    assert.equal(again.outcome, 'success', JSON.stringify(again.error));
    assert.ok(again.report.initDurationMs !== undefined, 'the discarded isolate was replaced by a new one');
  }

  it('stops an infinite synchronous loop at the timeout', () =>
    expectLimit('sync-loop', `export function handler(e) { if (e.quick) return 1; for (;;) {} }`, 'Function.Timeout', 'timeout', 'timeout'));

  it('stops a never-resolving promise at the timeout', () =>
    expectLimit('hang', `export function handler(e) { if (e.quick) return 1; return new Promise(() => {}) }`, 'Function.Timeout', 'timeout', 'timeout'));

  it('stops an async loop that keeps awaiting past the timeout', () =>
    expectLimit('async-loop', `export async function handler(e) { if (e.quick) return 1;
      for (;;) { await new Promise((r) => setTimeout(r, 1)); for (let i = 0; i < 1e5; i++); } }`, 'Function.Timeout', 'timeout', 'timeout'));

  it('stops a busy loop inside a timer callback at the timeout', () =>
    expectLimit('timer-loop', `export async function handler(e) { if (e.quick) return 1;
      setTimeout(() => { for (;;) {} }, 1); await new Promise(() => {}) }`, 'Function.Timeout', 'timeout', 'timeout'));

  it('discards an isolate that goes over its memory limit', () =>
    expectLimit('bomb', `export function handler(e) { if (e.quick) return 1; const a = []; for (;;) a.push(new Array(100000).fill(1)) }`,
      'Function.MemoryLimitExceeded', 'memory', 'memory', { memoryMb: 32, timeoutMs: 10_000 }));

  it('stops a function over its cpuMs budget', () =>
    expectLimit('cpu-hog', `export async function handler(e) { if (e.quick) return 1;
      for (;;) { const end = Date.now() + 20; while (Date.now() < end); await new Promise((r) => setTimeout(r, 1)); } }`,
      'Function.CpuLimitExceeded', 'timeout', 'cpu', { timeoutMs: 20_000, cpuMs: 100 }));

  it('throttles every call of a function with reservedConcurrency 0', async () => {
    const throttles: string[] = [];
    const throttled = new TestFunctions({ observer: { onThrottle: (t) => throttles.push(t.functionName) } });
    try {
      await throttled.deploy('off', `export const handler = () => 1`, { reservedConcurrency: 0 });
      await assert.rejects(throttled.runtime.invoke('off', event, { trigger: 'invoke' }), (err) => {
        assert.ok(isIsletError(err, 'TooManyRequests'));
        assert.equal(err.headers['Retry-After'], '1');
        return true;
      });
      assert.deepEqual(throttles, ['off']);
    } finally {
      await throttled.close();
    }
  });

  it('throttles calls over reservedConcurrency after the queue wait', async () => {
    const capped = new TestFunctions({ queueWaitMs: 50 });
    try {
      await capped.deploy('one', `export async function handler(e) { await new Promise((r) => setTimeout(r, e.ms)); return 'done' }`,
        { reservedConcurrency: 1, timeoutMs: 5_000 });
      const slow = capped.runtime.invoke('one', { kind: 'event', json: '{"ms":1000}' }, { trigger: 'invoke' });
      await until(() => capped.runtime.stats().inFlight === 1);
      await assert.rejects(capped.runtime.invoke('one', { kind: 'event', json: '{"ms":0}' }, { trigger: 'invoke' }),
        (err) => isIsletError(err, 'TooManyRequests'));
      assert.equal((await slow).outcome, 'success');
      // Once the slot frees up, calls go through again.
      assert.equal((await capped.runtime.invoke('one', { kind: 'event', json: '{"ms":0}' }, { trigger: 'invoke' })).outcome, 'success');
    } finally {
      await capped.close();
    }
  });
});

describe('ConcurrencyLimiter', () => {
  it('gives up waiting for a slot when the caller aborts', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const release = await limiter.acquire('a', 0);
    const controller = new AbortController();
    const waiting = limiter.acquire('a', 10_000, controller.signal);
    controller.abort();
    await assert.rejects(waiting, (err) => isIsletError(err, 'ShuttingDown'));
    release();
    assert.equal(limiter.inFlight, 0);
  });

  it('lets a waiter in when a slot frees up within the wait', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const release = await limiter.acquire('a', 0);
    const waiting = limiter.acquire('a', 5_000);
    release();
    const second = await waiting;
    assert.equal(limiter.inFlight, 1);
    second();
    assert.equal(limiter.inFlight, 0);
  });

  it('keeps reserved slots away from other functions', async () => {
    const limiter = new ConcurrencyLimiter(3);
    limiter.setReservation('vip', 2);
    const shared = await limiter.acquire('other', 0);
    await assert.rejects(limiter.acquire('other', 0), (err) => isIsletError(err, 'TooManyRequests'));
    const vip1 = await limiter.acquire('vip', 0);
    const vip2 = await limiter.acquire('vip', 0);
    await assert.rejects(limiter.acquire('vip', 0), (err) => isIsletError(err, 'TooManyRequests'));
    shared(); vip1(); vip2();
  });
});
