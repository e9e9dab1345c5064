import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ratio, round } from '../lib/stats.ts';
import { Unavailable, type Row, type Section } from '../lib/types.ts';

async function requireNatsServer(): Promise<void> {
  if (process.env.NATS_URL) return;
  try {
    await promisify(execFile)('nats-server', ['--version'], { timeout: 5_000 });
  } catch {
    throw new Unavailable('nats-server is not on PATH (and NATS_URL is unset)');
  }
}

/** Imports a bench module of another part, or reports it missing. */
async function importHelper<T>(file: string): Promise<T> {
  const path = join(import.meta.dirname, '..', file);
  if (!existsSync(path)) throw new Unavailable(`bench/${file} is missing`);
  return await import(path) as T;
}

const natsUrl = () => (process.env.NATS_URL ? { natsUrl: process.env.NATS_URL } : {});

interface AsyncRow { name: string; events: number; seconds: number; eventsPerSecond: number }
interface BatchRow { name: string; batchSize: number | null; messages: number; seconds: number; messagesPerSecond: number; invocations: number | null }

/** Async invocations/s (bench/async.ts) vs raw JetStream publish + consume on the same nats-server. */
export const asyncSection: Section = async (ctx) => {
  await requireNatsServer();
  const { benchAsync } = await importHelper<{ benchAsync: (o: { events?: number; concurrency?: number; natsUrl?: string }) => Promise<AsyncRow[]> }>('async.ts');
  const events = ctx.quick ? 200 : 2_000;
  ctx.log(`async: ${events} events`);
  const result = await benchAsync({ events, concurrency: 32, ...natsUrl() });
  const raw = result.find((r) => r.name.startsWith('raw'));
  if (!raw) throw new Error('bench/async.ts returned no raw JetStream row');
  const rows: Row[] = result.filter((r) => r !== raw).map((r) => ({
    metric: `async: ${r.name}`, unit: 'events/s', value: round(r.eventsPerSecond), baseline: round(raw.eventsPerSecond),
    baselineName: raw.name, ratio: ratio(r.eventsPerSecond, raw.eventsPerSecond),
  }));
  return { rows, details: { events, concurrency: 32, runs: result.map((r) => ({ ...r, seconds: round(r.seconds), eventsPerSecond: round(r.eventsPerSecond) })) } };
};

/** Event-source batches: messages/s through a trivial queue handler (bench/event-sources.ts) vs raw consume + ack. */
export const batchSection: Section = async (ctx) => {
  await requireNatsServer();
  const { benchEventSources } = await importHelper<{ benchEventSources: (o: { messages?: number; batchSizes?: number[]; natsUrl?: string }) => Promise<BatchRow[]> }>('event-sources.ts');
  const messages = ctx.quick ? 300 : 5_000;
  const batchSizes = ctx.quick ? [10, 100] : [1, 10, 100];
  ctx.log(`batch: ${messages} messages, batch sizes ${batchSizes.join(', ')}`);
  const result = await benchEventSources({ messages, batchSizes, ...natsUrl() });
  const raw = result.find((r) => r.batchSize === null);
  if (!raw) throw new Error('bench/event-sources.ts returned no raw JetStream row');
  const rows: Row[] = result.filter((r) => r !== raw).map((r) => ({
    metric: r.name, unit: 'msg/s', value: round(r.messagesPerSecond), baseline: round(raw.messagesPerSecond),
    baselineName: raw.name, ratio: ratio(r.messagesPerSecond, raw.messagesPerSecond),
  }));
  return { rows, details: { messages, runs: result.map((r) => ({ ...r, seconds: round(r.seconds), messagesPerSecond: round(r.messagesPerSecond) })) } };
};
