// Event-source throughput: messages/s through a trivial batch function at batch size 1, 10, 100,
// against raw JetStream consume+ack in the same run.
//   node --no-node-snapshot bench/event-sources.ts [--messages 5000] [--concurrency 2]
// NATS_URL=… uses that server; otherwise a private nats-server is started (nats-server on PATH).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { startNats } from '../test/helpers/nats.ts';
import { EventSourceManager } from '../src/events/sources/index.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { FileStore } from '../src/registry/file-store.ts';
import { FunctionRuntime } from '../src/runtime/index.ts';

/** One measured run. */
export interface EventSourceBenchRow {
  name: string;
  batchSize: number | null;
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  invocations: number | null;
}

const TRIVIAL_QUEUE_FN = 'export default { async queue(batch) { let n = 0; for (const m of batch.messages) { n += m.body.length; m.ack(); } } }';

async function publishMany(js: JetStreamClient, subject: string, count: number): Promise<void> {
  const body = JSON.stringify({ hello: 'world', pad: 'x'.repeat(64) });
  const window = 500;
  for (let i = 0; i < count; i += window) {
    const acks: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(count, i + window); j++) acks.push(js.publish(subject, body));
    await Promise.all(acks);
  }
}

/** Runs the benchmark and returns its rows (the bench runner may import this). */
export async function benchEventSources(options: { messages?: number; concurrency?: number; batchSizes?: number[]; natsUrl?: string } = {}): Promise<EventSourceBenchRow[]> {
  const messages = options.messages ?? 5_000;
  const batchSizes = options.batchSizes ?? [1, 10, 100];
  const nats = options.natsUrl ? undefined : await startNats();
  const url = options.natsUrl ?? nats!.url;
  const nc = await connect({ servers: url });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const dir = await mkdtemp(join(tmpdir(), 'islet-bench-esm-'));
  const store = await FileStore.open(dir);
  const runtime = new FunctionRuntime({ getFunction: (name) => store.getFunction(name), log: silentLogger() });
  const manager = new EventSourceManager({ store, invoker: runtime, nats: { nc, js, jsm }, log: silentLogger(), persistIntervalMs: 500 });
  const rows: EventSourceBenchRow[] = [];
  const run = `${process.pid}_${Date.now()}`;
  try {
    const now = new Date().toISOString();
    const { handlerShape, exports } = await runtime.validateCode(TRIVIAL_QUEUE_FN);
    await store.putFunction({
      name: 'bench-batch', config: { memoryMb: 128, timeoutMs: 10_000, env: {} }, code: TRIVIAL_QUEUE_FN, codeSha256: 'bench',
      handlerShape, exports, revision: 1, version: '$LATEST', createdAt: now, updatedAt: now,
    });
    await manager.start();
    for (const batchSize of batchSizes) {
      const subject = `bench.esm.${run}.b${batchSize}`;
      // Created disabled, filled, then enabled: the clock covers delivery only, not publishing.
      const mapping = await manager.create({
        function: 'bench-batch', source: { subject }, batchSize, enabled: false, ...(options.concurrency ? { maxConcurrency: options.concurrency } : {}),
      });
      await publishMany(js, subject, messages);
      const start = performance.now();
      await manager.setEnabled(mapping.id, true);
      while (manager.get(mapping.id).counters.processed < messages) await new Promise((r) => setTimeout(r, 5));
      const seconds = (performance.now() - start) / 1000;
      const done = manager.get(mapping.id);
      rows.push({ name: `event source, batch ${batchSize}`, batchSize, messages, seconds, messagesPerSecond: messages / seconds, invocations: done.counters.invocations });
      await manager.delete(mapping.id);
    }
    // Raw JetStream (after the mappings, so both run warm): a stream, a durable pull consumer, consume + ack each message.
    const rawStream = `BENCH_RAW_${run}`;
    await jsm.streams.add({ name: rawStream, subjects: [`bench.raw.${run}`] });
    await publishMany(js, `bench.raw.${run}`, messages);
    await jsm.consumers.add(rawStream, { durable_name: 'raw', ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get(rawStream, 'raw');
    const rawStart = performance.now();
    const iter = await consumer.consume({ max_messages: 1_000 });
    let seen = 0;
    for await (const m of iter) {
      m.ack();
      if (++seen === messages) break;
    }
    await nc.flush();
    const rawSeconds = (performance.now() - rawStart) / 1000;
    rows.push({ name: 'raw JetStream consume+ack', batchSize: null, messages, seconds: rawSeconds, messagesPerSecond: messages / rawSeconds, invocations: null });
    await jsm.streams.delete(rawStream);

  } finally {
    await manager.close();
    await runtime.close();
    await store.close();
    await nc.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.main) {
  // isolated-vm's pending work does not keep Node's loop alive by itself; this does.
  const keepAlive = setInterval(() => {}, 1_000);
  const { values } = parseArgs({ options: { messages: { type: 'string' }, concurrency: { type: 'string' } } });
  const rows = await benchEventSources({
    ...(values.messages ? { messages: Number(values.messages) } : {}),
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
    ...(process.env.NATS_URL ? { natsUrl: process.env.NATS_URL } : {}),
  });
  clearInterval(keepAlive);
  for (const r of rows) {
    console.log(`${r.name.padEnd(28)} ${String(r.messages).padStart(7)} msgs  ${r.seconds.toFixed(2).padStart(6)} s  ${Math.round(r.messagesPerSecond).toString().padStart(7)} msg/s${r.invocations === null ? '' : `  ${r.invocations} invocations`}`);
  }
}
