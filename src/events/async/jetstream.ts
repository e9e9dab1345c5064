import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { ASYNC_ACK_WAIT_MS, ASYNC_DEDUP_WINDOW_MS, ASYNC_STATUS_TTL_MS } from '../../defaults.ts';
import type { NatsEvents } from '../connection.ts';

/** Work-queue stream of pending async events. */
export const ASYNC_STREAM = 'ISLET_ASYNC';
export const ASYNC_SUBJECT_PREFIX = 'islet.async.';
/** Dead-letter stream: events that ended with nowhere else to go. */
export const DLQ_STREAM = 'ISLET_DLQ';
export const DLQ_SUBJECT_PREFIX = 'islet.dlq.';
/** KV bucket: request id → invocation status. */
export const STATUS_BUCKET = 'islet_invocations';
/** KV bucket: function + Idempotency-Key hash → first request id. */
export const IDEMPOTENCY_BUCKET = 'islet_async_idempotency';
/** Unacknowledged (delayed or running) events one consumer may hold. */
const MAX_ACK_PENDING = 20_000;

const ms = (n: number) => n * 1_000_000;

/** Durable consumer name of a function's queue (names are [A-Za-z0-9_-], valid here). */
export function consumerName(fn: string): string {
  return `islet_async_${fn}`;
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    const info = await jsm.streams.info(config.name);
    const current = info.config;
    const drift = (Object.keys(config) as Array<keyof StreamConfig>).some((k) => JSON.stringify(current[k]) !== JSON.stringify(config[k]));
    if (drift) await jsm.streams.update(config.name, { ...current, ...config });
  } catch (err) {
    if (!/stream not found/i.test((err as Error).message)) throw err;
    await jsm.streams.add(config);
  }
}

/** Creates (or brings up to date) the streams and buckets of the async queue. Idempotent. */
export async function ensureAsyncResources(events: NatsEvents): Promise<{ status: KV; idempotency: KV }> {
  const jsm = events.jsm;
  await ensureStream(jsm, {
    name: ASYNC_STREAM,
    subjects: [`${ASYNC_SUBJECT_PREFIX}>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: ms(ASYNC_DEDUP_WINDOW_MS),
  });
  await ensureStream(jsm, {
    name: DLQ_STREAM,
    subjects: [`${DLQ_SUBJECT_PREFIX}>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: ms(ASYNC_DEDUP_WINDOW_MS),
  });
  const kvm = new Kvm(events.nc);
  const status = await kvm.create(STATUS_BUCKET, { ttl: ASYNC_STATUS_TTL_MS, history: 1, storage: StorageType.File });
  const idempotency = await kvm.create(IDEMPOTENCY_BUCKET, { ttl: ASYNC_DEDUP_WINDOW_MS, history: 1, storage: StorageType.File });
  return { status, idempotency };
}

/** Creates a function's durable pull consumer if it is missing. */
export async function ensureConsumer(jsm: JetStreamManager, fn: string): Promise<void> {
  const name = consumerName(fn);
  try {
    await jsm.consumers.info(ASYNC_STREAM, name);
  } catch (err) {
    if (!/consumer not found/i.test((err as Error).message)) throw err;
    await jsm.consumers.add(ASYNC_STREAM, {
      durable_name: name,
      filter_subject: `${ASYNC_SUBJECT_PREFIX}${fn}`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: ms(ASYNC_ACK_WAIT_MS),
      // Attempts are counted in the event's headers; JetStream must never drop it.
      max_deliver: -1,
      max_ack_pending: MAX_ACK_PENDING,
    });
  }
}
