import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { startTestServer } from '../test/helpers/server.ts';
import { freePort } from '../test/helpers/nats.ts';
import { IsletApiError, IsletClient, IsletConnectionError, readSse } from './index.ts';

const LAMBDA_CODE = `
export async function handler(event, context) {
  console.log('got', JSON.stringify(event));
  if (event && event.fail) throw new TypeError('asked to fail');
  return { hello: event && event.name, fn: context.functionName };
}`;

describe('IsletClient', () => {
  it('deploys, lists, gets, invokes and deletes a function', async (t) => {
    const srv = await startTestServer(t);
    const islet = new IsletClient({ url: srv.url });

    const first = await islet.deploy('greet', { code: LAMBDA_CODE, memoryMb: 64, env: { A: '1' } });
    assert.equal(first.created, true);
    assert.equal(first.function.handlerShape, 'lambda');
    const second = await islet.deploy('greet', { timeoutMs: 2_000 });
    assert.equal(second.created, false);
    assert.equal(second.function.config.timeoutMs, 2_000);
    assert.equal(second.function.config.memoryMb, 64);

    assert.deepEqual((await islet.list()).map((f) => f.name), ['greet']);
    const withCode = await islet.get('greet', { includeCode: true });
    assert.match(withCode.code ?? '', /asked to fail/);

    const ok = await islet.invoke<{ hello: string; fn: string }>('greet', { name: 'Ada' }, { logTail: true });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.payload, { hello: 'Ada', fn: 'greet' });
    assert.equal(ok.functionError, undefined);
    assert.match(ok.logTail ?? '', /got \{"name":"Ada"\}/);
    assert.ok(ok.requestId.length > 0);

    const failed = await islet.invoke<{ errorType: string; errorMessage: string }>('greet', { fail: true });
    assert.equal(failed.status, 200);
    assert.equal(failed.functionError, 'Unhandled');
    assert.equal(failed.payload.errorType, 'TypeError');
    assert.equal(failed.payload.errorMessage, 'asked to fail');

    const dry = await islet.invoke('greet', undefined, { type: 'DryRun' });
    assert.equal(dry.status, 204);

    await islet.delete('greet');
    assert.equal(await islet.find('greet'), undefined);
    await assert.rejects(islet.get('greet'), (err: unknown) => {
      assert.ok(err instanceof IsletApiError);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'FunctionNotFound');
      return true;
    });
  });

  it('throws IsletApiError with the server code for bad code and a bad token', async (t) => {
    const srv = await startTestServer(t, { env: { ISLET_ADMIN_TOKEN: 'sekret-token' } });
    const noToken = new IsletClient({ url: srv.url });
    await assert.rejects(noToken.list(), (err: unknown) => err instanceof IsletApiError && err.status === 401 && err.code === 'Unauthorized');

    const islet = new IsletClient({ url: srv.url, token: 'sekret-token' });
    await assert.rejects(islet.deploy('broken', { code: 'export default {' }), (err: unknown) =>
      err instanceof IsletApiError && err.status === 400 && err.code === 'InvalidCode');
    assert.deepEqual(await islet.list(), []);
  });

  it('reports an unreachable server as IsletConnectionError naming the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const islet = new IsletClient({ url });
    await assert.rejects(islet.list(), (err: unknown) => {
      assert.ok(err instanceof IsletConnectionError);
      assert.equal(err.url, url);
      assert.match(err.message, /cannot reach islet at http:\/\/127\.0\.0\.1:\d+/);
      return true;
    });
  });

  it('reads logs as a query and follows them over SSE', async (t) => {
    const srv = await startTestServer(t);
    const islet = new IsletClient({ url: srv.url });
    await islet.deploy('noisy', { code: LAMBDA_CODE });
    const probe = await fetch(`${srv.url}/v1/functions/noisy/logs`);
    if (probe.status === 404 && (await probe.json() as { error?: { code?: string } }).error?.code === 'NotFound') {
      assert.fail('the logs route (GET /v1/functions/:name/logs) is not in the server yet');
    }

    const ac = new AbortController();
    t.after(() => ac.abort());
    const followed: string[] = [];
    const following = (async () => {
      for await (const record of islet.logs.follow('noisy', {}, ac.signal)) {
        if (record.type === 'line' && record.message) followed.push(record.message);
        if (followed.some((m) => m.includes('second'))) break;
      }
    })();

    const { requestId } = await islet.invoke('noisy', { name: 'first' });
    const deadline = Date.now() + 15_000;
    let lines: string[] = [];
    while (Date.now() < deadline) {
      const { items } = await islet.logs.query('noisy', { requestId });
      lines = items.filter((r) => r.type === 'line').map((r) => r.message ?? '');
      if (lines.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(lines, ['got {"name":"first"}']);

    // The follower may subscribe after the first invocation; keep invoking until it sees one.
    while (Date.now() < deadline && !followed.some((m) => m.includes('second'))) {
      await islet.invoke('noisy', { name: 'second' });
      await Promise.race([following, new Promise((r) => setTimeout(r, 300))]);
    }
    await following;
    assert.ok(followed.some((m) => m === 'got {"name":"second"}'), `followed: ${JSON.stringify(followed)}`);
  });
});

describe('readSse', () => {
  it('joins data lines, skips comments and keeps event names', async (t) => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': keep-alive\n\ndata: {"a":1}\n\nevent: end\ndata: x\r\ndata: y\r\n\r\n');
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/`);
    const events = [];
    for await (const e of readSse(res.body!)) events.push(e);
    assert.deepEqual(events, [{ event: 'message', data: '{"a":1}' }, { event: 'end', data: 'x\ny' }]);
  });
});
