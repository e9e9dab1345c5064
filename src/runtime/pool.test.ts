import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isIsletError } from '../errors.ts';
import type { DiscardReason } from '../invoke/types.ts';
import { TestFunctions, httpPayload, httpResult, until } from './testing.ts';

const text = async (fns: TestFunctions, name: string, path = '/') =>
  httpResult(await fns.runtime.invoke(name, httpPayload({ path }), { trigger: 'http' })).text;

describe('validateCode', () => {
  const fns = new TestFunctions();
  after(() => fns.close());

  it('finds the handler shape of both kinds of module', async () => {
    assert.deepEqual(await fns.runtime.validateCode(`export default { fetch() {}, queue() {} }`), { handlerShape: 'edge', exports: ['fetch', 'queue'] });
    assert.deepEqual(await fns.runtime.validateCode(`export async function handler() {}`), { handlerShape: 'lambda', exports: ['handler'] });
    assert.deepEqual(await fns.runtime.validateCode(`export const handler = (e, c, cb) => cb(null, 1)`), { handlerShape: 'lambda', exports: ['handler'] });
  });

  it('rejects a syntax error with its line and column', async () => {
    await assert.rejects(fns.runtime.validateCode(`export default {\n  fetch() { return new Response( }\n}`), (err) => {
      assert.ok(isIsletError(err, 'InvalidCode'));
      assert.match(err.message, /^SyntaxError: .*\(index\.js:2:\d+\)$/);
      return true;
    });
  });

  it('rejects a module without a usable handler, and one that throws at load', async () => {
    await assert.rejects(fns.runtime.validateCode(`export const foo = 1`),
      (err) => isIsletError(err, 'InvalidCode') && /no handler found.*foo/.test(err.message));
    await assert.rejects(fns.runtime.validateCode(`export default { fetch: 1 }`), (err) => isIsletError(err, 'InvalidCode'));
    await assert.rejects(fns.runtime.validateCode(`throw new Error('boom at load'); export function handler() {}`),
      (err) => isIsletError(err, 'InvalidCode') && /threw while loading.*boom at load/.test(err.message));
  });
});

describe('isolate pools', () => {
  it('switches to new code on redeploy while an in-flight call finishes on the old isolate', async () => {
    const discards: DiscardReason[] = [];
    const fns = new TestFunctions({ observer: { onIsolateDiscard: (d) => discards.push(d.reason) } });
    try {
      await fns.deploy('app', `export default { async fetch(req) {
        if (new URL(req.url).pathname.endsWith('/slow')) await new Promise((r) => setTimeout(r, 300));
        return new Response('v1') } }`);
      assert.equal(await text(fns, 'app'), 'v1');
      const slow = text(fns, 'app', '/slow');
      await until(() => fns.runtime.stats().inFlight === 1);
      await fns.deploy('app', `export default { fetch() { return new Response('v2') } }`);
      assert.equal(await text(fns, 'app'), 'v2');
      assert.equal(await slow, 'v1', 'the in-flight call kept its isolate');
      await until(() => fns.runtime.stats().perFunction.filter((f) => f.functionName === 'app').reduce((n, f) => n + f.warm, 0) === 1);
      assert.ok(discards.filter((r) => r === 'redeploy').length >= 1);
    } finally {
      await fns.close();
    }
  });

  it('grows with concurrent calls, one invocation per isolate', async () => {
    const fns = new TestFunctions();
    try {
      await fns.deploy('par', `let busy = false;
        export async function handler() { if (busy) throw new Error('shared isolate'); busy = true;
          await new Promise((r) => setTimeout(r, 100)); busy = false; return 'ok' }`);
      const results = await Promise.all([1, 2, 3].map(() => fns.runtime.invoke('par', { kind: 'event', json: '{}' }, { trigger: 'invoke' })));
      assert.deepEqual(results.map((r) => r.outcome), ['success', 'success', 'success']);
      assert.equal(fns.runtime.stats().warmIsolates, 3);
    } finally {
      await fns.close();
    }
  });

  it('answers many concurrent calls across functions and returns every slot', async () => {
    const fns = new TestFunctions({ maxConcurrency: 40, queueWaitMs: 30_000 });
    try {
      for (const n of [1, 2, 3]) {
        await fns.deploy(`mix${n}`, `export async function handler(e) {
          await new Promise((r) => setTimeout(r, e.ms)); return { fn: ${n}, i: e.i } }`, { timeoutMs: 20_000 });
      }
      let most = 0;
      const sampler = setInterval(() => { most = Math.max(most, fns.runtime.stats().inFlight); }, 1);
      const calls = Array.from({ length: 120 }, (_, i) => fns.runtime.invoke(`mix${(i % 3) + 1}`,
        { kind: 'event', json: JSON.stringify({ i, ms: i % 7 }) }, { trigger: 'invoke' }));
      const results = await Promise.all(calls);
      clearInterval(sampler);
      results.forEach((r, i) => assert.deepEqual(JSON.parse((r.value as { json: string }).json), { fn: (i % 3) + 1, i }));
      await until(() => fns.runtime.stats().inFlight === 0);
      assert.ok(most <= 40, `${most} in flight at once`);
      assert.equal(fns.runtime.stats().perFunction.reduce((n, f) => n + f.busy, 0), 0);
    } finally {
      await fns.close();
    }
  });

  it('scales to zero after the idle TTL but keeps minWarm isolates', async () => {
    const discards: Array<{ functionName: string; reason: DiscardReason }> = [];
    const fns = new TestFunctions({ idleTtlMs: 300, observer: { onIsolateDiscard: (d) => discards.push(d) } });
    try {
      await fns.deploy('idle', `export default { fetch() { return new Response('x') } }`);
      await fns.deploy('kept', `export default { fetch() { return new Response('y') } }`, { minWarm: 1 });
      assert.equal(await text(fns, 'idle'), 'x');
      const warm = (name: string) => fns.runtime.stats().perFunction.find((f) => f.functionName === name)?.warm ?? 0;
      assert.equal(warm('kept'), 1, 'minWarm isolates start at deploy');
      await until(() => warm('idle') === 0);
      assert.ok(discards.some((d) => d.functionName === 'idle' && d.reason === 'idle'));
      assert.equal(warm('kept'), 1);
      const cold = await fns.runtime.invoke('kept', httpPayload(), { trigger: 'http' });
      assert.equal(cold.report.initDurationMs, undefined, 'the minWarm isolate served the call warm');
    } finally {
      await fns.close();
    }
  });

  it('evicts the coldest idle isolate over the global warm cap', async () => {
    const discards: Array<{ functionName: string; reason: DiscardReason }> = [];
    const fns = new TestFunctions({ maxWarmIsolates: 2, observer: { onIsolateDiscard: (d) => discards.push(d) } });
    try {
      for (const name of ['a', 'b', 'c']) await fns.deploy(name, `export default { fetch() { return new Response('${name}') } }`);
      assert.equal(await text(fns, 'a'), 'a');
      assert.equal(await text(fns, 'b'), 'b');
      assert.equal(await text(fns, 'c'), 'c');
      assert.equal(fns.runtime.stats().warmIsolates, 2);
      assert.deepEqual(discards, [{ functionName: 'a', reason: 'evicted' }]);
    } finally {
      await fns.close();
    }
  });

  it('waits for ctx.waitUntil work before the isolate serves the next call', async () => {
    const fns = new TestFunctions();
    try {
      await fns.deploy('later', `let done = 0;
        export default { fetch(req, env, ctx) {
          ctx.waitUntil(new Promise((r) => setTimeout(() => { done++; r() }, 100)));
          return new Response(String(done)) } }`);
      assert.equal(await text(fns, 'later'), '0');
      await until(() => fns.runtime.stats().inFlight === 0);
      assert.equal(await text(fns, 'later'), '1', 'the background work ran before the isolate was reused');
    } finally {
      await fns.close();
    }
  });
});
