import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { errorCode, startTestServer } from './helpers/server.ts';

const EDGE_ECHO = `
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const body = new Uint8Array(await request.arrayBuffer());
    return new Response(body, {
      status: 201,
      headers: {
        'x-method': request.method,
        'x-url': request.url,
        'x-path': url.pathname,
        'x-query': url.search,
        'x-test-header': request.headers.get('x-test') ?? 'missing',
        'x-prefix': request.headers.get('x-forwarded-prefix') ?? 'missing',
        'x-env': env.GREETING ?? 'missing',
        'content-type': request.headers.get('content-type') ?? 'application/octet-stream',
      },
    });
  },
};`;

const LAMBDA_ECHO = `
export async function handler(event, context) {
  if (event.rawPath === '/json') return { seen: event.rawPath, greeting: process.env.GREETING };
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/octet-stream', 'x-seen': JSON.stringify({
      method: event.requestContext.http.method,
      rawPath: event.rawPath,
      rawQueryString: event.rawQueryString,
      query: event.queryStringParameters,
      header: event.headers['x-test'],
      isBase64Encoded: event.isBase64Encoded,
      sourceIp: event.requestContext.http.sourceIp,
      fn: context.functionName,
    }) },
    body: event.isBase64Encoded ? event.body : btoa(event.body ?? ''),
    isBase64Encoded: true,
  };
}`;

const THROWS = `export default { async fetch() { throw new TypeError('kaboom from the function'); } }`;
const LAMBDA_THROWS = `export async function handler() { throw new RangeError('lambda kaboom'); }`;
const EVENT_ECHO = `export async function handler(event, context) { console.log('got', JSON.stringify(event)); return { echoed: event, fn: context.functionName }; }`;

describe('HTTP triggers and admin invoke (real server, real isolates)', () => {
  it('gives an edge-style handler the method, path, query, headers, body and env, and returns its Response', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('edge-echo', { code: EDGE_ECHO, env: { GREETING: 'hello' } });
    const res = await fetch(`${s.url}/fn/edge-echo/a/b?x=1&y=two`, {
      method: 'PATCH', headers: { 'x-test': 'yes', 'content-type': 'text/plain' }, body: 'the body',
    });
    assert.equal(res.status, 201);
    assert.equal(await res.text(), 'the body');
    assert.equal(res.headers.get('x-method'), 'PATCH');
    assert.equal(res.headers.get('x-url'), `${s.url}/a/b?x=1&y=two`);
    assert.equal(res.headers.get('x-prefix'), '/fn/edge-echo');
    assert.equal(res.headers.get('x-query'), '?x=1&y=two');
    assert.equal(res.headers.get('x-test-header'), 'yes');
    assert.equal(res.headers.get('x-env'), 'hello');
    assert.match(res.headers.get('x-request-id')!, /\S/);
  });

  it('gives a Lambda-style handler the payload 2.0 event and round-trips a binary body as base64', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('lambda-echo', { code: LAMBDA_ECHO, env: { GREETING: 'from env' } });
    const binary = randomBytes(3000);
    binary[0] = 0xff; // never valid UTF-8 at the start
    const res = await fetch(`${s.url}/fn/lambda-echo/files/x%20y?a=1&b=2`, {
      method: 'POST', headers: { 'x-test': 'lambda', 'content-type': 'application/octet-stream' }, body: binary,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), binary);
    const seen = JSON.parse(res.headers.get('x-seen')!);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.rawPath, '/files/x%20y');
    assert.equal(seen.rawQueryString, 'a=1&b=2');
    assert.deepEqual(seen.query, { a: '1', b: '2' });
    assert.equal(seen.header, 'lambda');
    assert.equal(seen.isBase64Encoded, true);
    assert.equal(seen.sourceIp, '127.0.0.1');
    assert.equal(seen.fn, 'lambda-echo');

    const empty = await fetch(`${s.url}/fn/lambda-echo`);
    assert.equal(JSON.parse(empty.headers.get('x-seen')!).rawPath, '/');

    const plain = await fetch(`${s.url}/fn/lambda-echo/json`);
    assert.equal(plain.status, 200);
    assert.match(plain.headers.get('content-type')!, /application\/json/);
    assert.deepEqual(await plain.json(), { seen: '/json', greeting: 'from env' });
  });

  it('answers a throwing function with 502 FunctionError on the trigger', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('throws', { code: THROWS });
    const res = await fetch(`${s.url}/fn/throws`);
    assert.equal(res.status, 502);
    const body = await res.json() as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'FunctionError');
    assert.equal(body.error.message, 'TypeError: kaboom from the function');
  });

  it('follows the Lambda invoke contract: result, X-Function-Error, log tail, DryRun', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('event-echo', { code: EVENT_ECHO });
    await s.deployOk('lambda-throws', { code: LAMBDA_THROWS });

    const ok = await s.invoke('event-echo', { n: 1, list: ['a'] }, { 'x-log-type': 'Tail', 'x-request-id': 'my-req-1' });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { echoed: { n: 1, list: ['a'] }, fn: 'event-echo' });
    assert.equal(ok.headers.get('x-request-id'), 'my-req-1');
    assert.equal(ok.headers.get('x-islet-executed-version'), '$LATEST');
    assert.match(Buffer.from(ok.headers.get('x-log-result') ?? '', 'base64').toString(), /got \{"n":1,"list":\["a"\]\}/);

    const failed = await s.invoke('lambda-throws', {});
    assert.equal(failed.status, 200);
    assert.equal(failed.headers.get('x-function-error'), 'Unhandled');
    const error = await failed.json() as { errorType: string; errorMessage: string; trace: string[] };
    assert.equal(error.errorType, 'RangeError');
    assert.equal(error.errorMessage, 'lambda kaboom');
    assert.ok(Array.isArray(error.trace));

    const dry = await s.invoke('event-echo', undefined, { 'x-invocation-type': 'DryRun' });
    assert.equal(dry.status, 204);
    const missing = await s.invoke('nope', {});
    assert.equal(missing.status, 404);
    assert.equal(await errorCode(missing), 'FunctionNotFound');
    const event = await s.invoke('event-echo', {}, { 'x-invocation-type': 'Event' });
    assert.equal(event.status, 503, 'no NATS in this test: Event is unavailable');
    assert.equal(await errorCode(event), 'EventsUnavailable');
  });

  it('answers 413 for a trigger body over ISLET_MAX_REQUEST_BYTES without running the function', async (t) => {
    const s = await startTestServer(t, { env: { ISLET_MAX_REQUEST_BYTES: '1000' } });
    await s.deployOk('edge-echo', { code: EDGE_ECHO });
    const big = await fetch(`${s.url}/fn/edge-echo`, { method: 'POST', body: 'x'.repeat(5000) });
    assert.equal(big.status, 413);
    assert.equal(await errorCode(big), 'PayloadTooLarge');
    // Chunked upload with no Content-Length: the cap applies to the bytes that arrive.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(500));
        controller.close();
      },
    });
    const chunked = await fetch(`${s.url}/fn/edge-echo`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    assert.equal(chunked.status, 413);
    const small = await fetch(`${s.url}/fn/edge-echo`, { method: 'POST', body: 'x'.repeat(900) });
    assert.equal(small.status, 201);
  });

  it('refuses bad function names with 400 on triggers and the admin API', async (t) => {
    const s = await startTestServer(t);
    const long = 'a'.repeat(65);
    for (const path of ['/fn/..%2F..%2Fetc%2Fpasswd', `/fn/${long}`, '/fn/a.b', '/fn/a%00b', `/v1/functions/${long}`, '/v1/functions/..%2Fx']) {
      const res = await s.fetch(path);
      assert.equal(res.status, 400, path);
      assert.equal(await errorCode(res), 'InvalidFunctionName', path);
    }
    const put = await s.deploy('bad%2Fname', { code: 'export default { fetch() { return new Response("x") } }' });
    assert.equal(put.status, 400);
    assert.equal((await s.deployOk('a'.repeat(64), { code: 'export default { fetch() { return new Response("x") } }' })).name, 'a'.repeat(64));
  });
});
