// End to end: the real server (src/server.ts) with a real nats-server, deployed functions, and
// an HTTP sink the functions report to with fetch().
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { startNats } from './helpers/nats.ts';
import { errorCode, startTestServer, type TestServer } from './helpers/server.ts';
import type { EventSourceMapping } from '../src/events/sources/index.ts';
import { eventually } from './helpers/eventually.ts';

interface Seen { body: string; attempts: number; id: string }

/** Collects what functions POST to it: one array of messages per batch. */
async function startSink(t: TestContext): Promise<{ url: string; batches: Seen[][]; bodies(): string[] }> {
  const batches: Seen[][] = [];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    batches.push(JSON.parse(text) as Seen[]);
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, batches, bodies: () => batches.flat().map((s) => s.body) };
}

const EDGE_RECORDER = `export default {
  async queue(batch, env) {
    const items = batch.messages.map((m) => ({ body: typeof m.body === 'string' ? m.body : JSON.stringify(m.body), attempts: m.attempts, id: m.id }));
    if (items.some((i) => i.body === 'poison')) throw new Error('poison in batch');
    const res = await fetch(env.SINK, { method: 'POST', body: JSON.stringify(items) });
    if (!res.ok) throw new Error('sink down');
    batch.ackAll();
  },
};`;

const LAMBDA_PARTIAL = `export async function handler(event) {
  const batchItemFailures = [];
  const ok = [];
  for (const r of event.Records) {
    if (r.body.startsWith('bad') && r.deliveryCount === 1) batchItemFailures.push({ itemIdentifier: r.messageId });
    else ok.push({ body: r.body, attempts: r.deliveryCount, id: r.messageId });
  }
  await fetch(process.env.SINK, { method: 'POST', body: JSON.stringify(ok) });
  return { batchItemFailures };
}`;


const until = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) => eventually(what, check, timeoutMs);

const range = (n: number, prefix = 'm') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

interface Env {
  s: TestServer;
  js: JetStreamClient;
  sink: Awaited<ReturnType<typeof startSink>>;
  natsUrl: string;
  dataDir: string;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  create(body: Record<string, unknown>): Promise<EventSourceMapping>;
  mapping(id: string): Promise<EventSourceMapping>;
  publish(subject: string, bodies: string[]): Promise<void>;
}

async function setup(t: TestContext): Promise<Env> {
  const nats = await startNats();
  const dataDir = await mkdtemp(join(tmpdir(), 'islet-e2e-esm-'));
  const nc = await connect({ servers: nats.url });
  t.after(async () => { await nc.close(); await nats.stop(); await rm(dataDir, { recursive: true, force: true }); });
  const sink = await startSink(t);
  const s = await startTestServer(t, { dataDir, env: { NATS_URL: nats.url, ISLET_EVENT_SOURCE_ACK_WAIT_MS: '3000' } });
  const js = jetstream(nc);
  const env: Env = {
    s, js, sink, natsUrl: nats.url, dataDir,
    async api(method, path, body) {
      const res = await env.s.fetch(path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
      return { status: res.status, json: await res.json() };
    },
    async create(body) {
      const res = await env.api('POST', '/v1/event-sources', body);
      assert.equal(res.status, 201, JSON.stringify(res.json));
      return res.json as EventSourceMapping;
    },
    async mapping(id) {
      const res = await env.api('GET', `/v1/event-sources/${id}`);
      assert.equal(res.status, 200);
      return res.json as EventSourceMapping;
    },
    async publish(subject, bodies) {
      for (const b of bodies) await js.publish(subject, b);
    },
  };
  await until('NATS connected', () => s.server.events.available(), 20_000);
  return env;
}

describe('event source mappings through the server', () => {
  it('feeds 1,000 messages to a deployed function in batches of 50, each exactly once', async (t) => {
    const e = await setup(t);
    await e.s.deployOk('rec', { code: EDGE_RECORDER, env: { SINK: e.sink.url } });
    const m = await e.create({ function: 'rec', source: { subject: 'orders.created' }, batchSize: 50 });
    assert.equal(m.state, 'Enabled');
    assert.equal(m.batchSize, 50);
    await e.publish('orders.created', range(1000));
    await until('1000 delivered', async () => (await e.mapping(m.id)).counters.processed === 1000);
    const bodies = e.sink.bodies();
    assert.equal(bodies.length, 1000);
    assert.deepEqual(new Set(bodies), new Set(range(1000)));
    assert.ok(e.sink.batches.every((b) => b.length <= 50));
    assert.ok(e.sink.batches.some((b) => b.length > 1), 'messages were batched');
    const listed = await e.api('GET', '/v1/event-sources?function=rec');
    assert.deepEqual(listed.json.eventSources.map((x: EventSourceMapping) => x.id), [m.id]);
    assert.equal((await e.api('GET', '/v1/event-sources?function=other')).json.eventSources.length, 0);
    assert.equal((await e.mapping(m.id)).lastProcessingResult, 'OK');
  });

  it('flushes a partial batch when the batching window closes', async (t) => {
    const e = await setup(t);
    await e.s.deployOk('rec', { code: EDGE_RECORDER, env: { SINK: e.sink.url } });
    const m = await e.create({ function: 'rec', source: { subject: 'win' }, batchSize: 500, maxBatchingWindowMs: 1500 });
    await e.publish('win', ['a', 'b', 'c']);
    await until('window flush', async () => (await e.mapping(m.id)).counters.processed === 3);
    assert.equal(e.sink.batches.length, 1);
    assert.deepEqual(e.sink.batches[0]!.map((x) => x.body), ['a', 'b', 'c']);
  });

  it('retries only the failed ids of a Lambda batchItemFailures reply', async (t) => {
    const e = await setup(t);
    await e.s.deployOk('partial', { code: LAMBDA_PARTIAL, env: { SINK: e.sink.url } });
    const m = await e.create({ function: 'partial', source: { subject: 'p' }, batchSize: 10, maxBatchingWindowMs: 800, reportBatchItemFailures: true });
    await e.publish('p', ['ok1', 'bad1', 'ok2', 'bad2']);
    await until('all processed', async () => (await e.mapping(m.id)).counters.processed === 4);
    const seen = e.sink.batches.flat();
    assert.deepEqual(seen.filter((x) => x.attempts === 1).map((x) => x.body).sort(), ['ok1', 'ok2']);
    assert.deepEqual(seen.filter((x) => x.attempts === 2).map((x) => x.body).sort(), ['bad1', 'bad2']);
    assert.equal(seen.length, 4);
  });

  it('bisects to isolate a poison message, delivers the rest and dead-letters the poison', async (t) => {
    const e = await setup(t);
    await e.s.deployOk('rec', { code: EDGE_RECORDER, env: { SINK: e.sink.url } });
    const m = await e.create({ function: 'rec', source: { subject: 'b' }, batchSize: 10, maxBatchingWindowMs: 1000, bisectOnError: true, maxRetryAttempts: 0 });
    await e.publish('b', ['m0', 'm1', 'm2', 'm3', 'poison', 'm5', 'm6', 'm7', 'm8', 'm9']);
    await until('poison isolated', async () => { const c = (await e.mapping(m.id)).counters; return c.processed === 9 && c.failed === 1; });
    assert.deepEqual(e.sink.bodies().sort(), ['m0', 'm1', 'm2', 'm3', 'm5', 'm6', 'm7', 'm8', 'm9']);
    const jsm = await jetstreamManager(e.s.server.events.nc);
    const dead = await jsm.streams.getMessage('ISLET_DLQ', { last_by_subj: `islet.dlq.rec.esm.${m.id}` });
    const record = dead!.json<{ requestContext: { condition: string }; requestPayload: { messages: Array<{ body: string }> }; responsePayload: { errorMessage: string } }>();
    assert.equal(record.requestContext.condition, 'RetryAttemptsExhausted');
    assert.deepEqual(record.requestPayload.messages.map((x) => x.body), ['poison']);
    // The dead-letter record carries the exception queue() threw.
    assert.equal(record.responsePayload.errorMessage, 'poison in batch');
  });

  it('skips and counts messages the filter does not match', async (t) => {
    const e = await setup(t);
    await e.s.deployOk('rec', { code: EDGE_RECORDER, env: { SINK: e.sink.url } });
    const m = await e.create({
      function: 'rec', source: { subject: 'f' }, batchSize: 100, maxBatchingWindowMs: 500,
      filter: { filters: [{ pattern: { body: { type: ['order'], amount: [{ numeric: ['>', 10] }] } } }] },
    });
    await e.publish('f', [
      JSON.stringify({ type: 'order', amount: 50 }), JSON.stringify({ type: 'order', amount: 5 }),
      JSON.stringify({ type: 'ping', amount: 50 }), 'plain text', JSON.stringify({ type: 'order', amount: 11 }),
    ]);
    await until('filtered', async () => { const c = (await e.mapping(m.id)).counters; return c.processed === 2 && c.filtered === 3; });
    assert.deepEqual(e.sink.bodies().map((b) => JSON.parse(b).amount), [50, 11]);
  });

  it('keeps publish order in ordered mode', async (t) => {
    const e = await setup(t);
    await e.s.deployOk('rec', { code: EDGE_RECORDER, env: { SINK: e.sink.url } });
    const m = await e.create({ function: 'rec', source: { subject: 'o' }, batchSize: 7, ordered: true, maxConcurrency: 5 });
    await e.publish('o', range(100));
    await until('ordered delivered', async () => (await e.mapping(m.id)).counters.processed === 100);
    assert.deepEqual(e.sink.bodies(), range(100));
  });

  it('stops delivery when disabled and resumes without loss when enabled', async (t) => {
    const e = await setup(t);
    await e.s.deployOk('rec', { code: EDGE_RECORDER, env: { SINK: e.sink.url } });
    const m = await e.create({ function: 'rec', source: { subject: 'd' }, batchSize: 10 });
    await e.publish('d', range(20, 'a'));
    await until('first part', async () => (await e.mapping(m.id)).counters.processed === 20);
    const off = await e.api('POST', `/v1/event-sources/${m.id}/disable`);
    assert.equal(off.status, 200);
    assert.equal(off.json.state, 'Disabled');
    await e.publish('d', range(20, 'b'));
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(e.sink.bodies().length, 20);
    const on = await e.api('PUT', `/v1/event-sources/${m.id}`, { enabled: true });
    assert.equal(on.json.state, 'Enabled');
    await until('second part', async () => (await e.mapping(m.id)).counters.processed === 40);
    assert.deepEqual(new Set(e.sink.bodies()), new Set([...range(20, 'a'), ...range(20, 'b')]));
    const again = await e.api('POST', `/v1/event-sources/${m.id}/disable`);
    assert.equal(again.json.enabled, false);
    assert.equal((await e.api('POST', `/v1/event-sources/${m.id}/enable`)).json.state, 'Enabled');
  });

  it('loses nothing when islet restarts mid-stream, and resumes the mapping at start', async (t) => {
    const e = await setup(t);
    await e.s.deployOk('rec', { code: EDGE_RECORDER, env: { SINK: e.sink.url } });
    const m = await e.create({ function: 'rec', source: { subject: 'r' }, batchSize: 5, maxConcurrency: 1 });
    await e.publish('r', range(300));
    await until('some delivered', () => e.sink.bodies().length >= 30);
    await e.s.close();
    assert.ok(new Set(e.sink.bodies()).size < 300, 'the restart must land mid-stream');
    await e.publish('r', range(20, 'while-down'));
    e.s = await startTestServer(t, { dataDir: e.dataDir, env: { NATS_URL: e.natsUrl, ISLET_EVENT_SOURCE_ACK_WAIT_MS: '3000' } });
    assert.equal((await e.mapping(m.id)).state, 'Enabled');
    const want = [...range(300), ...range(20, 'while-down')];
    await until('everything delivered after restart', () => { const seen = new Set(e.sink.bodies()); return want.every((b) => seen.has(b)); }, 90_000);
  });

  it('answers clear errors and deletes the mapping with its stream', async (t) => {
    const e = await setup(t);
    await e.s.deployOk('rec', { code: EDGE_RECORDER, env: { SINK: e.sink.url } });
    const missingFn = await e.s.fetch('/v1/event-sources', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ function: 'ghost', source: { subject: 'x' } }) });
    assert.equal(missingFn.status, 404);
    assert.equal(await errorCode(missingFn), 'FunctionNotFound');
    const bad = await e.api('POST', '/v1/event-sources', { function: 'rec', source: { subject: 'x' }, batchSize: 20_000 });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'InvalidConfig');
    assert.match(bad.json.error.message, /batchSize/);
    assert.equal((await e.api('GET', '/v1/event-sources/nope')).status, 404);
    assert.equal((await e.api('PUT', '/v1/event-sources/nope', { batchSize: 2 })).json.error.code, 'NotFound');
    const m = await e.create({ function: 'rec', source: { subject: 'gone' } });
    const jsm = await jetstreamManager(e.s.server.events.nc);
    await jsm.streams.info(m.stream);
    const del = await e.api('DELETE', `/v1/event-sources/${m.id}`);
    assert.equal(del.status, 200);
    assert.equal(del.json.state, 'Deleting');
    assert.equal((await e.api('GET', `/v1/event-sources/${m.id}`)).status, 404);
    await assert.rejects(jsm.streams.info(m.stream));
  });

  it('answers 503 EventsUnavailable when the server has no NATS', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('rec', { code: EDGE_RECORDER });
    const res = await s.fetch('/v1/event-sources', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ function: 'rec', source: { subject: 'x' } }) });
    assert.equal(res.status, 503);
    assert.equal(await errorCode(res), 'EventsUnavailable');
    const list = await s.fetch('/v1/event-sources');
    assert.deepEqual(await list.json(), { eventSources: [] });
  });
});
