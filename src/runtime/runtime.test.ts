import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isIsletError } from '../errors.ts';
import type { BatchPayload, InvocationReport, LogEntry } from '../invoke/types.ts';
import { TestFunctions, httpPayload, httpResult } from './testing.ts';

const batch: BatchPayload = {
  kind: 'batch',
  source: { mappingId: 'map-1', stream: 'ORDERS' },
  messages: [
    { id: 'm1', subject: 'orders.new', body: '{"n":1}', headers: {}, timestamp: '2026-01-01T00:00:00.000Z', sequence: 1, attempts: 1 },
    { id: 'm2', subject: 'orders.new', body: 'plain', headers: { a: ['b'] }, timestamp: '2026-01-01T00:00:01.000Z', sequence: 2, attempts: 2 },
  ],
};

describe('FunctionRuntime', () => {
  const logs: LogEntry[] = [];
  const reports: InvocationReport[] = [];
  let fns: TestFunctions;
  before(() => {
    fns = new TestFunctions({ observer: { onLog: (e) => logs.push(e), onReport: (r) => reports.push(r) } });
  });
  after(() => fns.close());

  it('runs an edge fetch handler with the request, env and a Response back', async () => {
    await fns.deploy('edge', `export default { async fetch(request, env, ctx) {
      const url = new URL(request.url);
      return new Response(JSON.stringify({ method: request.method, path: url.pathname, q: url.searchParams.get('q'),
        body: await request.text(), h: request.headers.get('x-h'), env: env.GREETING }),
        { status: 201, headers: { 'content-type': 'application/json', 'x-out': 'yes' } });
    } }`, { env: { GREETING: 'hi' } });
    const result = await fns.runtime.invoke('edge',
      httpPayload({ method: 'POST', path: '/a/b', query: 'q=1', headers: [['x-h', 'v']], body: 'payload' }), { trigger: 'http' });
    const res = httpResult(result);
    assert.equal(res.status, 201);
    assert.deepEqual(JSON.parse(res.text), { method: 'POST', path: '/fn/x/a/b', q: '1', body: 'payload', h: 'v', env: 'hi' });
    assert.ok(res.headers.some(([k, v]) => k === 'x-out' && v === 'yes'));
    assert.equal(result.report.outcome, 'success');
    assert.ok(result.report.initDurationMs !== undefined, 'the first call is a cold start');
    const second = await fns.runtime.invoke('edge', httpPayload(), { trigger: 'http' });
    assert.equal(second.report.initDurationMs, undefined, 'the second call reuses the warm isolate');
  });

  it('gives a Lambda handler the Function URL 2.0 event and context', async () => {
    await fns.deploy('lambda', `export async function handler(event, context) {
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event, ctx: {
        awsRequestId: context.awsRequestId, functionName: context.functionName, memory: context.memoryLimitInMB,
        arn: context.invokedFunctionArn, remaining: context.getRemainingTimeInMillis() } }) };
    }`, { memoryMb: 64 });
    const result = await fns.runtime.invoke('lambda', httpPayload({
      method: 'POST', path: '/p', query: 'a=1&a=2&b=x', body: 'hello',
      headers: [['content-type', 'text/plain'], ['cookie', 'c1=v1; c2=v2'], ['x-multi', 'one'], ['x-multi', 'two'], ['user-agent', 'ua']],
    }), { trigger: 'http', requestId: 'req-1' });
    const { event, ctx } = JSON.parse(httpResult(result).text);
    assert.equal(event.version, '2.0');
    assert.equal(event.rawPath, '/p');
    assert.equal(event.rawQueryString, 'a=1&a=2&b=x');
    assert.deepEqual(event.queryStringParameters, { a: '1,2', b: 'x' });
    assert.deepEqual(event.cookies, ['c1=v1', 'c2=v2']);
    assert.equal(event.headers['x-multi'], 'one,two');
    assert.equal(event.headers.cookie, undefined);
    assert.equal(event.body, 'hello');
    assert.equal(event.isBase64Encoded, false);
    assert.equal(event.requestContext.http.method, 'POST');
    assert.equal(event.requestContext.http.sourceIp, '127.0.0.1');
    assert.equal(event.requestContext.http.userAgent, 'ua');
    assert.equal(event.requestContext.requestId, 'req-1');
    assert.equal(ctx.awsRequestId, 'req-1');
    assert.equal(ctx.functionName, 'lambda');
    assert.equal(ctx.memory, '64');
    assert.equal(ctx.arn, 'arn:islet:function:lambda:$LATEST');
    assert.ok(ctx.remaining > 0 && ctx.remaining <= 2_000);
  });

  it('base64-encodes binary request bodies and decodes base64 results, cookies become set-cookie', async () => {
    await fns.deploy('binary', `export const handler = async (event) => ({
      statusCode: 202, isBase64Encoded: true, body: event.body, cookies: ['a=1', 'b=2'],
      headers: { 'content-type': 'application/octet-stream', 'x-b64': String(event.isBase64Encoded) } })`);
    const bytes = new Uint8Array([0, 255, 1, 128]);
    const res = httpResult(await fns.runtime.invoke('binary',
      httpPayload({ method: 'PUT', body: bytes, headers: [['content-type', 'application/octet-stream']] }), { trigger: 'http' }));
    assert.equal(res.status, 202);
    assert.deepEqual([...res.body], [...bytes]);
    assert.deepEqual(res.headers.filter(([k]) => k === 'set-cookie').map(([, v]) => v), ['a=1', 'b=2']);
    assert.ok(res.headers.some(([k, v]) => k === 'x-b64' && v === 'true'));
  });

  it('maps plain Lambda return values: JSON → 200 application/json, undefined → empty 200', async () => {
    await fns.deploy('plain', `export function handler(event) {
      if (event.rawPath === '/none') return undefined;
      if (event.rawPath === '/str') return 'text';
      return { hello: 'world' };
    }`);
    const json = httpResult(await fns.runtime.invoke('plain', httpPayload({ path: '/obj' }), { trigger: 'http' }));
    assert.equal(json.status, 200);
    assert.deepEqual(JSON.parse(json.text), { hello: 'world' });
    assert.ok(json.headers.some(([k, v]) => k === 'content-type' && v === 'application/json'));
    const str = httpResult(await fns.runtime.invoke('plain', httpPayload({ path: '/str' }), { trigger: 'http' }));
    assert.equal(str.text, '"text"');
    const none = httpResult(await fns.runtime.invoke('plain', httpPayload({ path: '/none' }), { trigger: 'http' }));
    assert.equal(none.status, 200);
    assert.equal(none.body.byteLength, 0);
  });

  it('passes JSON events to both shapes', async () => {
    await fns.deploy('ev-lambda', `export async function handler(event) { return { doubled: event.n * 2 } }`);
    const lambda = await fns.runtime.invoke('ev-lambda', { kind: 'event', json: '{"n":21}' }, { trigger: 'invoke' });
    assert.deepEqual(lambda.value, { kind: 'event', json: '{"doubled":42}' });
    await fns.deploy('ev-callback', `export function handler(event, context, callback) { setTimeout(() => callback(null, { cb: event.n }), 1) }`);
    const callback = await fns.runtime.invoke('ev-callback', { kind: 'event', json: '{"n":3}' }, { trigger: 'invoke' });
    assert.deepEqual(callback.value, { kind: 'event', json: '{"cb":3}' });
    await fns.deploy('ev-void', `export function handler() {}`);
    const none = await fns.runtime.invoke('ev-void', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
    assert.deepEqual(none.value, { kind: 'event', json: 'null' });
    await fns.deploy('ev-edge', `export default { async fetch(request) {
      const body = await request.json();
      if (body.text) return new Response('plain ' + request.method);
      return Response.json({ got: body.n, method: request.method });
    } }`);
    const edge = await fns.runtime.invoke('ev-edge', { kind: 'event', json: '{"n":7}' }, { trigger: 'invoke' });
    assert.deepEqual(edge.value, { kind: 'event', json: '{"got":7,"method":"POST"}' });
    const text = await fns.runtime.invoke('ev-edge', { kind: 'event', json: '{"text":true}' }, { trigger: 'invoke' });
    assert.deepEqual(text.value, { kind: 'event', json: '"plain POST"' });
  });

  it('hands batches to a Lambda handler as Records and reads batchItemFailures', async () => {
    await fns.deploy('batch-lambda', `export async function handler(event) {
      globalThis.seen = event.Records;
      return { batchItemFailures: event.Records.filter((r) => r.body === 'plain').map((r) => ({ itemIdentifier: r.messageId })) };
    }`);
    const result = await fns.runtime.invoke('batch-lambda', batch, { trigger: 'event-source' });
    assert.deepEqual(result.value, { kind: 'batch', failures: [{ id: 'm2' }] });
    await fns.deploy('batch-records', `export const handler = async (event) => { if (event.Records[1].eventSourceARN !== 'map-1'
      || event.Records[1].deliveryCount !== 2 || event.Records[0].eventSource !== 'islet:nats') throw new Error('bad record') }`);
    const ok = await fns.runtime.invoke('batch-records', batch, { trigger: 'event-source' });
    assert.deepEqual(ok.value, { kind: 'batch', failures: [] });
  });

  it('hands batches to an edge queue handler with ack/retry semantics', async () => {
    await fns.deploy('batch-edge', `export default { async queue(batch, env) {
      if (batch.queue !== 'ORDERS' || !(batch.messages[0].timestamp instanceof Date) || batch.messages[0].body.n !== 1) throw new Error('bad batch');
      for (const m of batch.messages) if (m.body === 'plain') m.retry({ delaySeconds: 5 });
    } }`);
    const retried = await fns.runtime.invoke('batch-edge', batch, { trigger: 'event-source' });
    assert.deepEqual(retried.value, { kind: 'batch', failures: [{ id: 'm2', delaySeconds: 5 }] });
    await fns.deploy('batch-throw', `export default { async queue(batch) { batch.messages[0].ack(); throw new Error('half done') } }`);
    const thrown = await fns.runtime.invoke('batch-throw', batch, { trigger: 'event-source' });
    assert.equal(thrown.outcome, 'error', 'a throw fails the invocation with the exception');
    assert.equal(thrown.error?.errorMessage, 'half done');
    assert.deepEqual(thrown.value, { kind: 'batch', failures: [{ id: 'm2' }] }, 'and lists every message not acked');
  });

  it('returns thrown errors as Lambda error info without host frames', async () => {
    await fns.deploy('thrower', `export async function handler() { const e = new TypeError('nope'); throw e }`);
    const result = await fns.runtime.invoke('thrower', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
    assert.equal(result.outcome, 'error');
    assert.equal(result.error?.errorType, 'TypeError');
    assert.equal(result.error?.errorMessage, 'nope');
    assert.ok(result.error?.trace.some((line) => line.includes('thrower.js')));
    assert.ok(!result.error?.trace.some((line) => /node:|node_modules|\/work\//.test(line)));
  });

  it('keeps each function\'s env to itself', async () => {
    const code = `export const handler = () => { const out = { keys: Object.keys(process.env), value: process.env.SECRET ?? null,
      process: Object.keys(process) }; process.env.WRITTEN = 'by ' + (process.env.SECRET ?? 'b'); return out }`;
    await fns.deploy('env-a', code, { env: { SECRET: 'a' } });
    await fns.deploy('env-b', code, { env: { OTHER: 'b' } });
    const call = async (name: string) => {
      const result = await fns.runtime.invoke(name, { kind: 'event', json: '{}' }, { trigger: 'invoke' });
      assert.equal(result.value?.kind, 'event');
      return JSON.parse((result.value as { json: string }).json);
    };
    const a = await call('env-a');
    const b = await call('env-b');
    assert.deepEqual(a, { keys: ['SECRET'], value: 'a', process: ['env'] });
    assert.deepEqual(b, { keys: ['OTHER'], value: null, process: ['env'] });
    // A write to process.env stays in that function's isolate.
    assert.deepEqual((await call('env-b')).keys, ['OTHER', 'WRITTEN']);
    assert.deepEqual((await call('env-a')).keys, ['SECRET', 'WRITTEN']);
    await fns.deploy('env-proto', `export default { fetch(request, env) { return Response.json({ own: Object.keys(env), polluted: ({}).x ?? null }) } }`,
      { env: { ['__proto__']: 'p', x: 'y' } });
    const proto = JSON.parse(httpResult(await fns.runtime.invoke('env-proto', httpPayload(), { trigger: 'http' })).text);
    assert.deepEqual(proto, { own: ['__proto__', 'x'], polluted: null });
  });

  it('captures console output per invocation, with logTail and observer entries', async () => {
    await fns.deploy('logger', `export async function handler(event) {
      console.log('hello', { a: 1 }, [1, 2]); console.warn('careful'); console.error(new Error('bad'));
      console.debug('dbg', 5n, undefined, null);
      return 1;
    }`);
    const result = await fns.runtime.invoke('logger', { kind: 'event', json: '{}' }, { trigger: 'invoke', logTail: true, requestId: 'log-1' });
    const mine = logs.filter((e) => e.requestId === 'log-1');
    assert.deepEqual(mine.map((e) => e.level), ['info', 'warn', 'error', 'debug']);
    assert.equal(mine[0]?.message, 'hello { a: 1 } [ 1, 2 ]');
    assert.ok(mine[2]?.message.startsWith('Error: bad'));
    assert.equal(mine[3]?.message, 'dbg 5n undefined null');
    assert.ok(result.logTail?.includes('hello { a: 1 }'));
    assert.ok(result.logTail?.includes('REPORT RequestId: log-1'));
    assert.ok(reports.some((r) => r.requestId === 'log-1' && r.functionName === 'logger' && r.outcome === 'success'));
  });

  it('puts module top-level output of a cold start into the invocation that caused it', async () => {
    await fns.deploy('init-log', `console.log('loading module'); export const handler = () => 1`);
    const result = await fns.runtime.invoke('init-log', { kind: 'event', json: '{}' }, { trigger: 'invoke', logTail: true, requestId: 'init-1' });
    assert.ok(result.report.initDurationMs !== undefined);
    assert.ok(logs.some((e) => e.requestId === 'init-1' && e.message === 'loading module'));
    assert.match(result.logTail ?? '', /init-1\tINFO\tloading module/);
  });

  it('cuts console output over the per-invocation cap with one warning', async () => {
    const small = new TestFunctions({ maxLogBytes: 1_000, observer: { onLog: (e) => logs.push(e) } });
    try {
      await small.deploy('spam', `export function handler() { for (let i = 0; i < 1000; i++) console.log('line ' + i + ' '.repeat(50)) }`);
      const result = await small.runtime.invoke('spam', { kind: 'event', json: '{}' }, { trigger: 'invoke', requestId: 'spam-1', logTail: true });
      assert.ok(Buffer.byteLength(result.logTail ?? '') <= 4096);
      assert.match(result.logTail ?? '', /REPORT RequestId: spam-1/);
      const mine = logs.filter((e) => e.requestId === 'spam-1');
      assert.ok(mine.length < 30, `kept ${mine.length} lines`);
      assert.equal(mine.at(-1)?.level, 'warn');
      assert.match(mine.at(-1)!.message, /over 1000 bytes/);
    } finally {
      await small.close();
    }
  });

  it('throws FunctionNotFound for an unknown function', async () => {
    await assert.rejects(fns.runtime.invoke('missing', { kind: 'event', json: '{}' }, { trigger: 'invoke' }),
      (err) => isIsletError(err, 'FunctionNotFound'));
  });

  it('reports a ResponseTooLarge error over the response cap', async () => {
    const capped = new TestFunctions({ maxResponseBytes: 100 });
    try {
      await capped.deploy('big', `export default { fetch() { return new Response('x'.repeat(500)) } }`);
      const result = await capped.runtime.invoke('big', httpPayload(), { trigger: 'http' });
      assert.equal(result.outcome, 'error');
      assert.equal(result.error?.errorType, 'Function.ResponseTooLarge');
    } finally {
      await capped.close();
    }
  });
});
