import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { startNats, type TestNats } from './helpers/nats.ts';
import { startTestServer, errorCode, type TestServer } from './helpers/server.ts';
import { recordSink, waitFor, type RecordSink } from './helpers/async.ts';

const OK = 'export async function handler(event) { return { echo: event }; }';
const FAIL = 'export async function handler(event) { throw new TypeError("boom " + JSON.stringify(event)); }';
const SLOW = 'export async function handler(event) { await new Promise((r) => setTimeout(r, event.ms ?? 1500)); return { slept: event.ms ?? 1500 }; }';
const FAST_RETRY = { baseMs: 10, maxMs: 50 };

interface Suite { nats: TestNats; s: TestServer; sink: RecordSink }
const ctx = {} as Suite;
const cleanups: Array<() => Promise<void>> = [];

async function asyncConfig(s: TestServer, name: string, body: Record<string, unknown>): Promise<void> {
  const res = await s.fetch(`/v1/functions/${name}/async-config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.clone().text());
}

async function enqueue(s: TestServer, name: string, event: unknown, headers: Record<string, string> = {}): Promise<string> {
  const res = await s.invoke(name, event, { 'x-invocation-type': 'Event', ...headers });
  const body = await res.json() as { requestId: string };
  assert.equal(res.status, 202, JSON.stringify(body));
  assert.match(body.requestId, /\S/);
  return body.requestId;
}

async function status(s: TestServer, requestId: string): Promise<{ state: string; attempts: number; functionName: string; lastError?: string }> {
  const res = await s.fetch(`/v1/invocations/${requestId}`);
  assert.equal(res.status, 200);
  return res.json() as never;
}

describe('async invocation', () => {
  before(async () => {
    ctx.nats = await startNats();
    ctx.s = await startTestServer({ after: (fn) => { cleanups.push(fn); } }, { env: { NATS_URL: ctx.nats.url } });
    ctx.sink = await recordSink(ctx.nats.url);
  });
  after(async () => {
    await ctx.sink?.close();
    for (const fn of cleanups.reverse()) await fn();
    await ctx.nats?.stop();
  });

  it('runs an event and sends a Success record to the onSuccess subject', async () => {
    const { s, sink } = ctx;
    await s.deployOk('happy', { code: OK });
    await asyncConfig(s, 'happy', { onSuccess: 'nats:rec.happy' });
    const requestId = await enqueue(s, 'happy', { n: 1 });
    const [record] = await sink.waitForRecords('happy', 1);
    assert.equal(record!.version, '1.0');
    assert.deepEqual(record!.requestContext, {
      requestId, functionArn: 'arn:islet:function:happy:$LATEST', functionName: 'happy', condition: 'Success', approximateInvokeCount: 1,
    } as never);
    assert.deepEqual(record!.requestPayload, { n: 1 });
    assert.deepEqual(record!.responsePayload, { echo: { n: 1 } });
    assert.equal(record!.responseContext.statusCode, 200);
    assert.equal(record!.responseContext.functionError, undefined);
    const st = await waitFor(async () => { const x = await status(s, requestId); return x.state === 'succeeded' ? x : undefined; });
    assert.equal(st.attempts, 1);
    assert.equal(st.functionName, 'happy');
  });

  it('queues HTTP trigger calls with X-Invocation-Type: Event', async () => {
    const { s, sink } = ctx;
    await s.deployOk('webhooky', { code: 'export default { async fetch(req) { return new Response("got " + (await req.text())); } }' });
    await asyncConfig(s, 'webhooky', { onSuccess: 'nats:rec.webhooky' });
    const res = await fetch(`${s.url}/fn/webhooky/path?q=1`, { method: 'POST', headers: { 'x-invocation-type': 'Event' }, body: 'hello' });
    assert.equal(res.status, 202);
    const [record] = await sink.waitForRecords('webhooky', 1);
    assert.equal(record!.requestContext.condition, 'Success');
    assert.deepEqual((record!.responsePayload as { body: string }).body, 'got hello');
  });

  it('retries a failing function maxRetryAttempts times, then sends RetriesExhausted to onFailure', async () => {
    const { s, sink } = ctx;
    await s.deployOk('flaky', { code: FAIL });
    await asyncConfig(s, 'flaky', { maxRetryAttempts: 2, retryBackoff: FAST_RETRY, onFailure: 'nats:rec.flaky' });
    const requestId = await enqueue(s, 'flaky', { x: 1 });
    const [record] = await sink.waitForRecords('flaky', 1);
    assert.equal(record!.requestContext.requestId, requestId);
    assert.equal(record!.requestContext.condition, 'RetriesExhausted');
    assert.equal(record!.requestContext.approximateInvokeCount, 3);
    assert.equal(record!.responseContext.functionError, 'Unhandled');
    assert.equal((record!.responsePayload as { errorType: string }).errorType, 'TypeError');
    assert.match((record!.responsePayload as { errorMessage: string }).errorMessage, /boom/);
    const st = await waitFor(async () => { const x = await status(s, requestId); return x.state === 'failed' ? x : undefined; });
    assert.equal(st.attempts, 3);
    assert.match(st.lastError ?? '', /TypeError: boom/);
    // Exactly once to the destination: no fourth attempt, no second record.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await sink.records('flaky')).length, 1);
  });

  it('gives up on an event older than maxEventAgeSeconds with EventAgeExceeded, without running it', async () => {
    const { s, sink } = ctx;
    await s.deployOk('stale', { code: OK });
    await asyncConfig(s, 'stale', { maxEventAgeSeconds: 60, onSuccess: 'nats:rec.stale-ok', onFailure: 'nats:rec.stale' });
    // An event enqueued two hours ago (as if it had waited in the queue that long).
    const h = natsHeaders();
    h.set('Islet-Request-Id', 'old-event-1');
    h.set('Islet-Enqueued-At', String(Date.now() - 2 * 3600_000));
    h.set('Islet-Attempts', '0');
    h.set('Islet-Kind', 'event');
    const js = jetstream(sink.nc);
    await js.publish('islet.async.stale', JSON.stringify({ old: true }), { headers: h });
    const [record] = await sink.waitForRecords('stale', 1);
    assert.equal(record!.requestContext.requestId, 'old-event-1');
    assert.equal(record!.requestContext.condition, 'EventAgeExceeded');
    assert.equal(record!.requestContext.approximateInvokeCount, 0);
    assert.deepEqual(record!.requestPayload, { old: true });
    // A fresh event for the same function still runs.
    await enqueue(s, 'stale', { fresh: true });
    const [ok] = await sink.waitForRecords('stale-ok', 1);
    assert.deepEqual(ok!.requestPayload, { fresh: true });
  });

  it('keeps throttled events queued without spending attempts and runs them once concurrency is raised', async () => {
    const { s, sink } = ctx;
    await s.deployOk('throttled', { code: OK, reservedConcurrency: 0 });
    await asyncConfig(s, 'throttled', { maxRetryAttempts: 0, onSuccess: 'nats:rec.throttled', onFailure: 'nats:rec.throttled-fail' });
    const ids = [await enqueue(s, 'throttled', { i: 1 }), await enqueue(s, 'throttled', { i: 2 }), await enqueue(s, 'throttled', { i: 3 })];
    // Several throttle rounds go by (about 1 s each).
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal((await sink.records('throttled')).length, 0);
    for (const id of ids) {
      const st = await status(s, id);
      assert.equal(st.state, 'queued');
      assert.equal(st.attempts, 0);
    }
    await s.deployOk('throttled', { code: OK, reservedConcurrency: 5 });
    const records = await sink.waitForRecords('throttled', 3);
    assert.deepEqual(records.map((r) => r.requestContext.approximateInvokeCount), [1, 1, 1]);
    assert.deepEqual(new Set(records.map((r) => r.requestContext.requestId)), new Set(ids));
    assert.equal((await sink.records('throttled-fail')).length, 0);
  });

  it('stores an event once per Idempotency-Key and answers the first request id again', async () => {
    const { s, sink } = ctx;
    await s.deployOk('dedup', { code: OK });
    await asyncConfig(s, 'dedup', { onSuccess: 'nats:rec.dedup' });
    const first = await enqueue(s, 'dedup', { k: 1 }, { 'idempotency-key': 'order-42' });
    const second = await enqueue(s, 'dedup', { k: 1 }, { 'idempotency-key': 'order-42' });
    assert.equal(second, first);
    const other = await enqueue(s, 'dedup', { k: 2 }, { 'idempotency-key': 'order-43' });
    assert.notEqual(other, first);
    await sink.waitForRecords('dedup', 2);
    // The run of the first key finished long ago; a third try is still a duplicate.
    assert.equal(await enqueue(s, 'dedup', { k: 1 }, { 'idempotency-key': 'order-42' }), first);
    await new Promise((r) => setTimeout(r, 500));
    const records = await sink.records('dedup');
    assert.equal(records.length, 2);
    assert.deepEqual(records.map((r) => r.requestContext.requestId).sort(), [first, other].sort());
  });

  it('dead-letters a failed event without onFailure, lists it, and redrives it', async () => {
    const { s, sink } = ctx;
    await s.deployOk('dlq', { code: FAIL });
    await asyncConfig(s, 'dlq', { maxRetryAttempts: 1, retryBackoff: FAST_RETRY, onSuccess: 'nats:rec.dlq' });
    const requestId = await enqueue(s, 'dlq', { d: 1 });
    await waitFor(async () => (await status(s, requestId)).state === 'dead-lettered');
    const listed = await s.fetch('/v1/functions/dlq/dead-letters?limit=10');
    assert.equal(listed.status, 200);
    const { deadLetters } = await listed.json() as { deadLetters: Array<{ requestId: string; reason: string; record: { requestContext: { condition: string; approximateInvokeCount: number }; requestPayload: unknown; responsePayload: { errorType: string } } }> };
    assert.equal(deadLetters.length, 1);
    assert.equal(deadLetters[0]!.requestId, requestId);
    assert.equal(deadLetters[0]!.reason, 'no onFailure destination');
    assert.equal(deadLetters[0]!.record.requestContext.condition, 'RetriesExhausted');
    assert.equal(deadLetters[0]!.record.requestContext.approximateInvokeCount, 2);
    assert.deepEqual(deadLetters[0]!.record.requestPayload, { d: 1 });
    assert.equal(deadLetters[0]!.record.responsePayload.errorType, 'TypeError');

    // Redrive while it still fails: it gets its retries again and comes back to the list.
    const again = await s.fetch('/v1/functions/dlq/dead-letters/redrive', { method: 'POST' });
    assert.equal((await again.json() as { redriven: number }).redriven, 1);
    const back = await waitFor(async () => {
      const list = await (await s.fetch('/v1/functions/dlq/dead-letters')).json() as { deadLetters: Array<{ requestId: string; record: { requestContext: { approximateInvokeCount: number } } }> };
      return list.deadLetters.length === 1 ? list.deadLetters[0] : undefined;
    }, 30_000, 'the failing event dead-lettered again');
    assert.equal(back.requestId, requestId);
    assert.equal(back.record.requestContext.approximateInvokeCount, 2);

    // Fix the function, then redrive: the event runs again with a fresh attempt count.
    await s.deployOk('dlq', { code: OK });
    const redrive = await s.fetch('/v1/functions/dlq/dead-letters/redrive', { method: 'POST' });
    assert.equal(redrive.status, 200);
    assert.equal((await redrive.json() as { redriven: number }).redriven, 1);
    const [record] = await sink.waitForRecords('dlq', 1);
    assert.equal(record!.requestContext.requestId, requestId);
    assert.equal(record!.requestContext.condition, 'Success');
    assert.equal(record!.requestContext.approximateInvokeCount, 1);
    const after = await (await s.fetch('/v1/functions/dlq/dead-letters')).json() as { deadLetters: unknown[] };
    assert.equal(after.deadLetters.length, 0);
  });

  it('reports status transitions: queued, running, retrying, then the final state', async () => {
    const { s } = ctx;
    await s.deployOk('slow', { code: SLOW, timeoutMs: 10_000 });
    const slowId = await enqueue(s, 'slow', { ms: 1500 });
    const seen = new Set<string>();
    await waitFor(async () => { const st = await status(s, slowId); seen.add(st.state); return st.state === 'succeeded'; });
    assert.ok(seen.has('running'), `states seen: ${[...seen].join(', ')}`);

    await s.deployOk('retrier', { code: FAIL });
    await asyncConfig(s, 'retrier', { maxRetryAttempts: 1, retryBackoff: { baseMs: 3000, maxMs: 3000 } });
    const retryId = await enqueue(s, 'retrier', {});
    const retrying = await waitFor(async () => { const st = await status(s, retryId); return st.state === 'retrying' ? st : undefined; });
    assert.equal(retrying.attempts, 1);
    const final = await waitFor(async () => { const st = await status(s, retryId); return st.state === 'dead-lettered' ? st : undefined; });
    assert.equal(final.attempts, 2);

    const unknown = await s.fetch('/v1/invocations/no-such-request');
    assert.equal(unknown.status, 404);
    assert.equal(await errorCode(unknown), 'NotFound');
  });

  it('removes the consumer, queued events and async config of a deleted function', async () => {
    const { s, sink } = ctx;
    await s.deployOk('doomed', { code: OK, reservedConcurrency: 0 });
    await asyncConfig(s, 'doomed', { maxRetryAttempts: 1 });
    await enqueue(s, 'doomed', { bye: true });
    await waitFor(async () => (await sink.jsm.consumers.info('ISLET_ASYNC', 'islet_async_doomed')).num_ack_pending + (await sink.jsm.consumers.info('ISLET_ASYNC', 'islet_async_doomed')).num_pending > 0);
    assert.equal((await s.fetch('/v1/functions/doomed', { method: 'DELETE' })).status, 204);
    await waitFor(async () => {
      try { await sink.jsm.consumers.info('ISLET_ASYNC', 'islet_async_doomed'); return false; } catch { return true; }
    }, 15_000, 'consumer removed');
    const left = await sink.jsm.streams.info('ISLET_ASYNC', { subjects_filter: 'islet.async.doomed' });
    assert.equal(left.state.subjects?.['islet.async.doomed'] ?? 0, 0);
    await s.deployOk('doomed', { code: OK });
    assert.equal((await (await s.fetch('/v1/functions/doomed/async-config')).json() as { maxRetryAttempts: number }).maxRetryAttempts, 2);
  });

  it('validates async-config and answers 404 for unknown functions', async () => {
    const { s } = ctx;
    await s.deployOk('cfg', { code: OK });
    const put = (body: unknown, name = 'cfg') => s.fetch(`/v1/functions/${name}/async-config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const bad of [{ maxRetryAttempts: 11 }, { maxEventAgeSeconds: 59 }, { onFailure: 'ftp://x' }, { onSuccess: 'nats:a.*' }, { retryBackoff: { baseMs: 100, maxMs: 10 } }, { extra: 1 }]) {
      const res = await put(bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(await errorCode(res), 'InvalidConfig');
    }
    const missing = await put({}, 'nope');
    assert.equal(missing.status, 404);
    assert.equal(await errorCode(missing), 'FunctionNotFound');
    const defaults = await (await s.fetch('/v1/functions/cfg/async-config')).json() as Record<string, unknown>;
    assert.equal(defaults.maxRetryAttempts, 2);
    assert.equal(defaults.maxEventAgeSeconds, 21600);
    await put({ maxRetryAttempts: 0, onFailure: 'function:cfg' });
    const stored = await (await s.fetch('/v1/functions/cfg/async-config')).json() as Record<string, unknown>;
    assert.equal(stored.maxRetryAttempts, 0);
    assert.equal(stored.onFailure, 'function:cfg');
    assert.equal((await s.fetch('/v1/functions/cfg/async-config', { method: 'DELETE' })).status, 200);
    assert.equal((await (await s.fetch('/v1/functions/cfg/async-config')).json() as Record<string, unknown>).maxRetryAttempts, 2);
  });
});
