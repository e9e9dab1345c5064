import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from './helpers/server.ts';

const SLOW = `export default { async fetch() { await new Promise((r) => setTimeout(r, 400)); return new Response('finished'); } }`;

describe('server lifecycle', () => {
  it('lets an in-flight request finish on close, then refuses new connections', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('slow', { code: SLOW, timeoutMs: 10_000 });
    const inFlight = fetch(`${s.url}/fn/slow`);
    // Wait until the invocation is running before closing.
    const deadline = Date.now() + 10_000;
    while (s.server.runtime.stats().inFlight === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.server.runtime.stats().inFlight, 1);
    const closed = s.close();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'finished');
    await closed;
    await assert.rejects(fetch(`${s.url}/healthz`));
  });

  it('answers /healthz with status, uptime and the function count', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('one', { code: SLOW });
    const res = await fetch(`${s.url}/healthz`);
    assert.equal(res.status, 200);
    const body = await res.json() as { status: string; uptimeS: number; functions: number };
    assert.equal(body.status, 'ok');
    assert.equal(typeof body.uptimeS, 'number');
    assert.equal(body.functions, 1);
  });
});
