// Async invocation throughput, end to end: HTTP 202 → JetStream → function run → onSuccess
// record on a NATS subject, for a trivial function; against raw JetStream publish + pull
// consume + ack + result publish in the same run, on the same nats-server.
//   node --no-node-snapshot bench/async.ts [--events 2000] [--concurrency 32]
// NATS_URL=… uses that server; otherwise a private nats-server is started (nats-server on PATH).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { startNats } from '../test/helpers/nats.ts';
import { loadConfig } from '../src/config.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { startServer } from '../src/server.ts';

/** One measured run. */
export interface AsyncBenchRow {
  name: string;
  events: number;
  seconds: number;
  eventsPerSecond: number;
}

const TRIVIAL_FN = 'export async function handler(event) { return { ok: true, n: event.n }; }';

function waitForCount(nc: NatsConnection, subject: string, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    nc.subscribe(subject, { callback: () => { if (++seen === count) resolve(); } });
  });
}

async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await task(next++);
  }));
}

/** Runs the benchmark and returns its rows (the bench runner may import this). */
export async function benchAsync(options: { events?: number; concurrency?: number; natsUrl?: string } = {}): Promise<AsyncBenchRow[]> {
  const events = options.events ?? 2_000;
  const concurrency = options.concurrency ?? 32;
  const nats = options.natsUrl ? undefined : await startNats();
  const url = options.natsUrl ?? nats!.url;
  const nc = await connect({ servers: url });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const dataDir = await mkdtemp(join(tmpdir(), 'islet-bench-async-'));
  const run = `${process.pid}_${Date.now()}`;
  const rows: AsyncBenchRow[] = [];
  const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', ISLET_DATA_DIR: dataDir, NATS_URL: url, LOG_LEVEL: 'silent' }), { logger: silentLogger() });
  try {
    // Raw JetStream: work-queue stream, publish (awaiting PubAcks), pull consume + ack + result publish.
    const rawStream = `BENCH_ASYNC_RAW_${run}`;
    await jsm.streams.add({ name: rawStream, subjects: [`bench.araw.${run}`], retention: RetentionPolicy.Workqueue });
    await jsm.consumers.add(rawStream, { durable_name: 'raw', ack_policy: AckPolicy.Explicit });
    const rawDone = waitForCount(nc, `bench.araw.done.${run}`, events);
    let t0 = performance.now();
    const consumer = await js.consumers.get(rawStream, 'raw');
    const messages = await consumer.consume({ max_messages: 256 });
    void (async () => {
      for await (const m of messages) {
        nc.publish(`bench.araw.done.${run}`, m.data);
        m.ack();
      }
    })();
    await inParallel(events, concurrency, async (i) => { await js.publish(`bench.araw.${run}`, JSON.stringify({ n: i })); });
    await rawDone;
    let seconds = (performance.now() - t0) / 1000;
    messages.stop();
    rows.push({ name: 'raw JetStream pub+consume', events, seconds, eventsPerSecond: events / seconds });

    // islet: PUT function + async-config, then POST …/invoke with X-Invocation-Type: Event.
    const put = (path: string, body: unknown) => fetch(server.url + path, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await put('/v1/functions/bench-async', { code: TRIVIAL_FN });
    await put('/v1/functions/bench-async/async-config', { onSuccess: `nats:bench.async.done.${run}` });
    let doneAt = 0;
    const done = waitForCount(nc, `bench.async.done.${run}`, events).then(() => { doneAt = performance.now(); });
    t0 = performance.now();
    // autocannon (keep-alive connections, pipelining off) is a lighter client than fetch; it
    // still runs in this process, on the same cores as the server.
    // Timed by the events themselves (the last 202, the last record): autocannon's own result
    // ends on its 1 s sampling tick.
    let accepted = 0;
    let acceptedAt = 0;
    const load = autocannon({
      url: `${server.url}/v1/functions/bench-async/invoke`,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-invocation-type': 'Event' },
      body: JSON.stringify({ n: 1 }),
      connections: concurrency,
      amount: events,
    });
    load.on('response', (_client, statusCode) => {
      if (statusCode === 202 && ++accepted === events) acceptedAt = performance.now();
    });
    // A failed request would leave `done` waiting forever: fail as soon as the load says so.
    const checked = Promise.resolve(load).then((result) => {
      if (result['2xx'] !== events) throw new Error(`expected ${events} 202s, got ${result['2xx']} (non-2xx ${result.non2xx}, errors ${result.errors})`);
    });
    await Promise.all([done, checked]);
    const acceptedS = (acceptedAt - t0) / 1000;
    seconds = (doneAt - t0) / 1000;
    rows.push({ name: 'islet HTTP 202 only', events, seconds: acceptedS, eventsPerSecond: events / acceptedS });
    rows.push({ name: 'islet 202→run→onSuccess', events, seconds, eventsPerSecond: events / seconds });

    // islet without HTTP: AsyncQueue.enqueue in process → run → onSuccess record.
    const direct = waitForCount(nc, `bench.async.done.${run}`, events);
    t0 = performance.now();
    await inParallel(events, concurrency, async (i) => {
      await server.asyncQueue.enqueue('bench-async', { kind: 'event', json: JSON.stringify({ n: i }) });
    });
    await direct;
    seconds = (performance.now() - t0) / 1000;
    rows.push({ name: 'islet enqueue()→run→onSuccess', events, seconds, eventsPerSecond: events / seconds });
    await jsm.streams.delete(rawStream);
  } finally {
    await server.close();
    await nc.close();
    await nats?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.main) {
  const keepAlive = setInterval(() => {}, 1_000);
  const { values } = parseArgs({ options: { events: { type: 'string' }, concurrency: { type: 'string' } } });
  const rows = await benchAsync({
    ...(values.events ? { events: Number(values.events) } : {}),
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
    ...(process.env.NATS_URL ? { natsUrl: process.env.NATS_URL } : {}),
  });
  clearInterval(keepAlive);
  for (const r of rows) {
    console.log(`${r.name.padEnd(28)} ${String(r.events).padStart(7)} events  ${r.seconds.toFixed(2).padStart(6)} s  ${Math.round(r.eventsPerSecond).toString().padStart(7)} events/s`);
  }
}
