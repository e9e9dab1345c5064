import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { errorCode, startTestServer, type TestServer } from './helpers/server.ts';

const NEIGHBOUR = `export default { fetch: () => new Response('neighbour ok') }`;

/** The server and an unrelated function still answer while (and after) a function misbehaves. */
async function assertServerHealthy(s: TestServer): Promise<void> {
  const health = await fetch(`${s.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { status: string }).status, 'ok');
  const neighbour = await fetch(`${s.url}/fn/neighbour`);
  assert.equal(neighbour.status, 200);
  assert.equal(await neighbour.text(), 'neighbour ok');
}

describe('limits (real isolates)', () => {
  it('stops an infinite synchronous loop at timeoutMs with 504 while others keep answering', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('neighbour', { code: NEIGHBOUR });
    await s.deployOk('spin', { code: `export default { fetch() { for (;;) {} } }`, timeoutMs: 500 });
    const spinning = fetch(`${s.url}/fn/spin`);
    await assertServerHealthy(s); // while the loop runs
    const res = await spinning;
    assert.equal(res.status, 504);
    assert.equal(await errorCode(res), 'FunctionTimeout');
    await assertServerHealthy(s);
  });

  it('ends a never-resolving promise at timeoutMs with 504', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('neighbour', { code: NEIGHBOUR });
    await s.deployOk('hang', { code: `export default { fetch() { return new Promise(() => {}); } }`, timeoutMs: 300 });
    const res = await fetch(`${s.url}/fn/hang`);
    assert.equal(res.status, 504);
    assert.equal(await errorCode(res), 'FunctionTimeout');
    await assertServerHealthy(s);
    // The isolate was replaced: the function can still run (and time out) again.
    assert.equal((await fetch(`${s.url}/fn/hang`)).status, 504);
  });

  it('answers a memory bomb with 502 FunctionMemoryLimitExceeded and keeps the server up', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('neighbour', { code: NEIGHBOUR });
    await s.deployOk('bomb', {
      code: `export default { fetch() { const keep = []; for (;;) keep.push(new Array(100000).fill({ x: Math.random() })); } }`,
      memoryMb: 16, timeoutMs: 20_000,
    });
    const res = await fetch(`${s.url}/fn/bomb`);
    assert.equal(res.status, 502);
    assert.equal(await errorCode(res), 'FunctionMemoryLimitExceeded');
    await assertServerHealthy(s);

    const viaInvoke = await s.invoke('bomb', {});
    assert.equal(viaInvoke.status, 200);
    assert.equal(viaInvoke.headers.get('x-function-error'), 'Unhandled');
    await assertServerHealthy(s);
  });

  it('returns 429 with Retry-After when reserved concurrency is 0', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('throttled', { code: NEIGHBOUR, reservedConcurrency: 0 });
    const res = await fetch(`${s.url}/fn/throttled`);
    assert.equal(res.status, 429);
    assert.equal(await errorCode(res), 'TooManyRequests');
    assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
    const invoked = await s.invoke('throttled', {});
    assert.equal(invoked.status, 429);
    // Lifting the reservation lets calls through again.
    await s.deployOk('throttled', { reservedConcurrency: null });
    assert.equal((await fetch(`${s.url}/fn/throttled`)).status, 200);
  });
});
