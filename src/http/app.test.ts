import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config.ts';
import { IsletError } from '../errors.ts';
import type { AsyncInvoker } from '../events/types.ts';
import type { InvocationPayload, InvocationResult, Invoker, InvokeOptions } from '../invoke/types.ts';
import { silentLogger } from '../observability/logger.ts';
import { FileStore, FunctionRegistry } from '../registry/index.ts';
import { HTTPException } from 'hono/http-exception';
import { createApp } from './app.ts';
import type { AppDeps } from './types.ts';

/** Answers from a script: each test sets `next` to what the invoker should do. */
class ScriptedInvoker implements Invoker {
  calls: Array<{ name: string; payload: InvocationPayload; options: InvokeOptions }> = [];
  next: (name: string, payload: InvocationPayload, options: InvokeOptions) => Partial<InvocationResult> = () => ({ outcome: 'success', value: { kind: 'event', json: 'null' } });

  async invoke(name: string, payload: InvocationPayload, options: InvokeOptions): Promise<InvocationResult> {
    this.calls.push({ name, payload, options });
    const requestId = options.requestId ?? 'generated';
    const partial = this.next(name, payload, options);
    return {
      requestId,
      outcome: 'success',
      report: {
        requestId, functionName: name, version: '$LATEST', trigger: options.trigger, startedAt: new Date().toISOString(),
        durationMs: 1, billedDurationMs: 1, memoryLimitMb: 128, memoryUsedMb: 1, outcome: partial.outcome ?? 'success',
      },
      ...partial,
    };
  }
}

const CODE = 'export default { fetch() {} }';

async function setup(t: { after: (fn: () => Promise<void>) => void }, overrides: Partial<AppDeps> & { env?: Record<string, string>; address?: string } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'islet-app-'));
  const store = await FileStore.open(dir);
  const log = silentLogger();
  const functions = new FunctionRegistry({
    store, log,
    validateCode: async (code) => {
      if (code.includes('syntax error')) throw new IsletError('InvalidCode', 'SyntaxError: Unexpected identifier at 1:8');
      return { handlerShape: 'edge', exports: ['fetch'] };
    },
  });
  const invoker = new ScriptedInvoker();
  const config = loadConfig({ LOG_LEVEL: 'silent', ISLET_MAX_REQUEST_BYTES: '1024', ...overrides.env });
  const app = createApp({ invoker, functions, config, log, clientAddress: () => overrides.address ?? '127.0.0.1', ...overrides });
  t.after(async () => {
    functions.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const json = { 'content-type': 'application/json' };
  const deploy = (name: string, body: unknown) => app.request(`/v1/functions/${name}`, { method: 'PUT', headers: json, body: JSON.stringify(body) });
  return { app, invoker, functions, deploy, json };
}

describe('HTTP app', () => {
  it('deploys (201), updates (200), lists, gets with and without code, deletes (204)', async (t) => {
    const { app, deploy } = await setup(t);
    const created = await deploy('hello', { code: CODE, memoryMb: 256 });
    assert.equal(created.status, 201);
    const info = await created.json() as Record<string, unknown>;
    assert.equal(info.name, 'hello');
    assert.equal('code' in info, false);
    assert.equal((info.config as { memoryMb: number }).memoryMb, 256);
    assert.equal((await deploy('hello', { timeoutMs: 5000 })).status, 200);

    const list = await (await app.request('/v1/functions')).json() as { functions: Array<{ name: string; revision: number }> };
    assert.deepEqual(list.functions.map((f) => [f.name, f.revision]), [['hello', 2]]);
    const withCode = await (await app.request('/v1/functions/hello?include=code')).json() as { code: string };
    assert.equal(withCode.code, CODE);

    assert.equal((await app.request('/v1/functions/hello', { method: 'DELETE' })).status, 204);
    const gone = await app.request('/v1/functions/hello');
    assert.equal(gone.status, 404);
    assert.deepEqual(await gone.json(), { error: { code: 'FunctionNotFound', message: 'function hello does not exist' } });
  });

  it('answers 415 for a non-JSON body and 400 for bad JSON or bad config', async (t) => {
    const { app, deploy } = await setup(t);
    const form = await app.request('/v1/functions/f', { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(form.status, 415);
    assert.equal(((await form.json()) as { error: { code: string } }).error.code, 'UnsupportedMediaType');
    const bad = await app.request('/v1/functions/f', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"code":' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'BadRequest');
    const config = await deploy('f', { code: CODE, timeoutMs: -1 });
    assert.equal(config.status, 400);
    assert.match(((await config.json()) as { error: { message: string } }).error.message, /^timeoutMs:/);
    const code = await deploy('f', { code: 'syntax error' });
    assert.deepEqual(await code.json(), { error: { code: 'InvalidCode', message: 'SyntaxError: Unexpected identifier at 1:8' } });
  });

  it('passes the trigger path, query, method, headers and body to the invoker and maps the response', async (t) => {
    const { app, invoker } = await setup(t);
    invoker.next = () => ({ value: { kind: 'http', status: 201, headers: [['x-out', 'yes'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['content-length', '999']], body: new TextEncoder().encode('made') } });
    const res = await app.request('http://h/fn/echo/a/b%20c?x=1&y=2', { method: 'POST', headers: { 'x-in': 'v' }, body: 'payload' });
    assert.equal(res.status, 201);
    assert.equal(await res.text(), 'made');
    assert.equal(res.headers.get('x-out'), 'yes');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    const call = invoker.calls[0]!;
    assert.equal(call.name, 'echo');
    assert.equal(call.options.trigger, 'http');
    assert.equal(call.options.requestId, res.headers.get('x-request-id'));
    const payload = call.payload;
    assert.equal(payload.kind, 'http');
    if (payload.kind !== 'http') return;
    assert.equal(payload.method, 'POST');
    assert.equal(payload.path, '/a/b%20c');
    assert.equal(payload.rawQuery, 'x=1&y=2');
    assert.ok(payload.headers.some(([k, v]) => k === 'x-in' && v === 'v'));
    assert.equal(new TextDecoder().decode(payload.body!), 'payload');
    assert.equal(payload.sourceIp, '127.0.0.1');

    await app.request('http://h/fn/echo');
    await app.request('http://h/fn/echo/');
    assert.deepEqual(invoker.calls.slice(1).map((c) => c.payload.kind === 'http' && c.payload.path), ['/', '/']);
  });

  it('maps failed invocations on the trigger to 502, 504 and the memory code', async (t) => {
    const { app, invoker } = await setup(t);
    const cases: Array<[Partial<InvocationResult>, number, string, string?]> = [
      [{ outcome: 'error', error: { errorType: 'TypeError', errorMessage: 'x is not a function', trace: [] } }, 502, 'FunctionError', 'TypeError: x is not a function'],
      [{ outcome: 'timeout', error: { errorType: 'Function.Timeout', errorMessage: 'timed out after 100 ms', trace: [] } }, 504, 'FunctionTimeout'],
      [{ outcome: 'memory', error: { errorType: 'Function.MemoryLimitExceeded', errorMessage: 'over 16 MB', trace: [] } }, 502, 'FunctionMemoryLimitExceeded'],
      [{ outcome: 'error', error: { errorType: 'Function.ResponseTooLarge', errorMessage: 'too big', trace: [] } }, 502, 'ResponseTooLarge'],
      [{ outcome: 'success', value: { kind: 'http', status: 42, headers: [], body: new Uint8Array() } }, 502, 'FunctionError'],
    ];
    for (const [partial, status, code, message] of cases) {
      invoker.next = () => partial;
      const res = await app.request('/fn/f');
      assert.equal(res.status, status, code);
      const body = await res.json() as { error: { code: string; message: string } };
      assert.equal(body.error.code, code);
      if (message) assert.equal(body.error.message, message);
    }
  });

  it('answers 429 with Retry-After when the invoker throttles', async (t) => {
    const { app, invoker } = await setup(t);
    invoker.invoke = async () => { throw new IsletError('TooManyRequests', 'reserved concurrency 0', { headers: { 'Retry-After': '1' } }); };
    const res = await app.request('/fn/f');
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
  });

  it('follows Lambda for admin invoke: result body, X-Function-Error on failure, log tail, DryRun', async (t) => {
    const { app, invoker, deploy, json } = await setup(t);
    await deploy('f', { code: CODE });
    invoker.next = (_n, payload) => ({ value: { kind: 'event', json: payload.kind === 'event' ? payload.json : 'null' }, logTail: 'line one\n' });
    const ok = await app.request('/v1/functions/f/invoke', { method: 'POST', headers: { ...json, 'x-log-type': 'Tail' }, body: '{"a":[1,2]}' });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { a: [1, 2] });
    assert.equal(Buffer.from(ok.headers.get('x-log-result')!, 'base64').toString(), 'line one\n');
    assert.equal(ok.headers.get('x-islet-executed-version'), '$LATEST');
    assert.equal(invoker.calls.at(-1)!.options.logTail, true);

    const empty = await app.request('/v1/functions/f/invoke', { method: 'POST' });
    assert.equal(await empty.text(), 'null');

    invoker.next = () => ({ outcome: 'error', error: { errorType: 'Error', errorMessage: 'boom', trace: ['at handler'] } });
    const failed = await app.request('/v1/functions/f/invoke', { method: 'POST', headers: json, body: '{}' });
    assert.equal(failed.status, 200);
    assert.equal(failed.headers.get('x-function-error'), 'Unhandled');
    assert.deepEqual(await failed.json(), { errorType: 'Error', errorMessage: 'boom', trace: ['at handler'] });

    const calls = invoker.calls.length;
    const dry = await app.request('/v1/functions/f/invoke', { method: 'POST', headers: { 'x-invocation-type': 'DryRun' } });
    assert.equal(dry.status, 204);
    assert.equal(invoker.calls.length, calls, 'DryRun runs nothing');
    const dryMissing = await app.request('/v1/functions/nope/invoke', { method: 'POST', headers: { 'x-invocation-type': 'DryRun' } });
    assert.equal(dryMissing.status, 404);
    const badType = await app.request('/v1/functions/f/invoke', { method: 'POST', headers: { 'x-invocation-type': 'Later' } });
    assert.equal(badType.status, 400);
  });

  it('answers 503 EventsUnavailable for Event without an async queue, and 202 with one', async (t) => {
    const { app, deploy, json } = await setup(t);
    await deploy('f', { code: CODE });
    const noQueue = await app.request('/v1/functions/f/invoke', { method: 'POST', headers: { ...json, 'x-invocation-type': 'Event' }, body: '{}' });
    assert.equal(noQueue.status, 503);
    assert.equal(((await noQueue.json()) as { error: { code: string } }).error.code, 'EventsUnavailable');
    const trigger = await app.request('/fn/f', { method: 'POST', headers: { 'x-invocation-type': 'Event' } });
    assert.equal(trigger.status, 503);

    const queued: Array<{ name: string; kind: string; key?: string }> = [];
    const asyncInvoker: AsyncInvoker = {
      enqueue: async (name, payload, options) => {
        queued.push({ name, kind: payload.kind, ...(options?.idempotencyKey ? { key: options.idempotencyKey } : {}) });
        return { requestId: `r${queued.length}`, duplicate: false };
      },
    };
    const withQueue = await setup(t, { asyncInvoker });
    await withQueue.deploy('f', { code: CODE });
    const accepted = await withQueue.app.request('/v1/functions/f/invoke', { method: 'POST', headers: { ...json, 'x-invocation-type': 'Event' }, body: '{"k":1}' });
    assert.equal(accepted.status, 202);
    assert.deepEqual(await accepted.json(), { requestId: 'r1' });
    assert.equal(accepted.headers.get('x-request-id'), 'r1');
    const fromTrigger = await withQueue.app.request('/fn/f/x', { method: 'POST', headers: { 'x-invocation-type': 'Event', 'idempotency-key': 'upload/1234 a' }, body: 'raw' });
    assert.equal(fromTrigger.status, 202);
    assert.deepEqual(queued, [{ name: 'f', kind: 'event' }, { name: 'f', kind: 'http', key: 'upload/1234 a' }]);
    const longKey = await withQueue.app.request('/fn/f', { method: 'POST', headers: { 'x-invocation-type': 'Event', 'idempotency-key': 'k'.repeat(300) } });
    assert.equal(longKey.status, 400, 'an unusable key is refused, not dropped');
    const missingFn = await withQueue.app.request('/fn/nope', { method: 'POST', headers: { 'x-invocation-type': 'Event' } });
    assert.equal(missingFn.status, 404);
    const notJson = await withQueue.app.request('/v1/functions/f/invoke', { method: 'POST', headers: { ...json, 'x-invocation-type': 'Event' }, body: 'not json' });
    assert.equal(notJson.status, 400);
    const textBody = await withQueue.app.request('/v1/functions/f/invoke', { method: 'POST', headers: { 'x-invocation-type': 'Event' }, body: '{}' });
    assert.equal(textBody.status, 415, 'fetch sends a string body as text/plain');
  });

  it('rejects bad function names with 400 InvalidFunctionName everywhere', async (t) => {
    const { app } = await setup(t);
    for (const path of ['/fn/..%2Fetc', `/fn/${'a'.repeat(65)}`, '/fn/a%20b/x', '/v1/functions/..%2F..%2Fetc', '/v1/functions/a.b/invoke']) {
      const res = await app.request(path, { method: path.endsWith('invoke') ? 'POST' : 'GET' });
      assert.equal(res.status, 400, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'InvalidFunctionName', path);
    }
  });

  it('answers 413 for a trigger body over ISLET_MAX_REQUEST_BYTES', async (t) => {
    const { app, invoker } = await setup(t);
    const res = await app.request('/fn/f', { method: 'POST', body: 'x'.repeat(2048) });
    assert.equal(res.status, 413);
    assert.equal(invoker.calls.length, 0);
  });

  it('honours a sane incoming X-Request-Id and replaces an unsafe one', async (t) => {
    const { app } = await setup(t);
    const kept = await app.request('/healthz', { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(kept.headers.get('x-request-id'), 'abc-123');
    const replaced = await app.request('/healthz', { headers: { 'x-request-id': 'bad id\twith spaces' } });
    assert.match(replaced.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
  });

  it('guards /v1 with the bearer token when one is set', async (t) => {
    const { app } = await setup(t, { env: { ISLET_ADMIN_TOKEN: 's3cret' } });
    const none = await app.request('/v1/functions');
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate')!, /^Bearer/);
    assert.equal((await app.request('/v1/functions', { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await app.request('/v1/functions', { headers: { authorization: 'Bearer s3cret' } })).status, 200);
    assert.equal((await app.request('/v1/nothing-here')).status, 401, 'unknown admin paths do not leak past auth');
    assert.notEqual((await app.request('/fn/f')).status, 401, 'triggers are public');
  });

  it('answers only loopback clients on /v1 without a token', async (t) => {
    const remote = await setup(t, { address: '10.0.0.7' });
    const res = await remote.app.request('/v1/functions');
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'Forbidden');
    for (const address of ['::1', '::ffff:127.0.0.1', '127.1.2.3']) {
      const local = await setup(t, { address });
      assert.equal((await local.app.request('/v1/functions')).status, 200, address);
    }
    const local = await setup(t);
    const fromFunction = await local.app.request('/v1/functions', { headers: { 'x-islet-function': 'probe' } });
    assert.equal(fromFunction.status, 403, 'a function subrequest from loopback is not an admin');
  });

  it('registers extra admin routes behind auth, and answers 404/500 as JSON without stacks', async (t) => {
    const { app } = await setup(t, {
      env: { ISLET_ADMIN_TOKEN: 't' },
      extraAdminRoutes: [(v1) => v1.get('/extra', () => new Response('extra'))],
      extraRoutes: [
        (root) => root.get('/boom', () => { throw new Error('secret internals'); }),
        (root) => root.get('/hono-400', () => { throw new HTTPException(400, { message: 'bad query' }); }),
      ],
    });
    assert.equal((await app.request('/v1/extra')).status, 401);
    assert.equal(await (await app.request('/v1/extra', { headers: { authorization: 'Bearer t' } })).text(), 'extra');
    const boom = await app.request('/boom');
    assert.equal(boom.status, 500);
    const text = await boom.text();
    assert.doesNotMatch(text, /secret internals|at /);
    assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'InternalError');
    const honoError = await app.request('/hono-400');
    assert.equal(honoError.status, 400);
    assert.deepEqual(await honoError.json(), { error: { code: 'BadRequest', message: 'bad query' } });
    const missing = await app.request('/nowhere');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'NotFound');
  });

  it('reports health with the function count', async (t) => {
    const { app, deploy } = await setup(t);
    await deploy('a', { code: CODE });
    const health = await (await app.request('/healthz')).json() as { status: string; functions: number };
    assert.equal(health.status, 'ok');
    assert.equal(health.functions, 1);
  });
});
