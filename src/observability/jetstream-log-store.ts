import type { NatsConnection } from '@nats-io/transport-node';
import {
  DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType,
  type ConsumerMessages, type JetStreamClient, type JetStreamManager, type StreamConfig,
} from '@nats-io/jetstream';
import { IsletError } from '../errors.ts';
import { QueryCollector, type LogQuery, type LogQueryResult, type LogStore } from './log-store.ts';
import type { Logger } from './logger.ts';
import { LogRecordTypes, type LogRecord } from './records.ts';

/** Stream that keeps function logs; subjects `islet.logs.<function>`. */
export const LOG_STREAM = 'ISLET_LOGS';
export const LOG_SUBJECT_PREFIX = 'islet.logs';
/** Whole-stream size cap; the oldest records go first. */
export const DEFAULT_LOG_STREAM_MAX_BYTES = 256 * 1024 * 1024;
/** Records older than this are removed. */
export const DEFAULT_LOG_STREAM_MAX_AGE_MS = 7 * 24 * 60 * 60_000;
/** Per-function record cap, so one chatty function cannot push every other one out. */
export const DEFAULT_LOG_STREAM_MAX_RECORDS_PER_FUNCTION = 200_000;
/** Records waiting to be published; past it new records are dropped (and counted). */
export const DEFAULT_LOG_MAX_PENDING_RECORDS = 20_000;
/** Records published per batch (plain publishes, the last one awaiting its PubAck for the batch). */
export const DEFAULT_LOG_BATCH_SIZE = 500;
/** How long a record may wait for its batch. */
export const DEFAULT_LOG_FLUSH_INTERVAL_MS = 50;
/** Records one query reads at most before it answers with what it has (truncated). */
export const MAX_LOG_SCAN_RECORDS = 500_000;
/** How long close() waits for pending records. */
const CLOSE_FLUSH_WAIT_MS = 3_000;
const FETCH_BATCH = 1_000;
/** JetStream API error: stream name already in use (not in the client's code table). */
const STREAM_NAME_IN_USE = 10058;
const FETCH_EXPIRES_MS = 5_000;

/** Options of {@link JetStreamLogStore.open}. */
export interface JetStreamLogStoreOptions {
  /** A connected NATS client (owned by the caller: close() leaves it open). */
  nc: NatsConnection;
  log: Logger;
  /** @default DEFAULT_LOG_STREAM_MAX_BYTES */
  maxBytes?: number;
  /** @default DEFAULT_LOG_STREAM_MAX_AGE_MS */
  maxAgeMs?: number;
  /** @default DEFAULT_LOG_STREAM_MAX_RECORDS_PER_FUNCTION */
  maxRecordsPerFunction?: number;
  /** @default DEFAULT_LOG_MAX_PENDING_RECORDS */
  maxPendingRecords?: number;
  /** @default DEFAULT_LOG_BATCH_SIZE */
  batchSize?: number;
  /** @default DEFAULT_LOG_FLUSH_INTERVAL_MS */
  flushIntervalMs?: number;
  /** @default LOG_STREAM */
  stream?: string;
}

/** The subject of a function's records. Function names are subject-safe (^[A-Za-z0-9_-]+$). */
export function logSubject(functionName: string): string {
  return `${LOG_SUBJECT_PREFIX}.${functionName}`;
}

/** The ISLET_LOGS stream config; only nats-server 2.9 features. */
export function logStreamConfig(name: string, limits: { maxBytes: number; maxAgeMs: number; maxRecordsPerFunction: number }): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects: [`${LOG_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_bytes: limits.maxBytes,
    max_age: limits.maxAgeMs * 1_000_000,
    max_msgs_per_subject: limits.maxRecordsPerFunction,
    num_replicas: 1,
  };
}

interface Pending {
  subject: string;
  data: string;
}

/**
 * Keeps logs in a JetStream stream so they survive restarts and are shared by every node.
 * append() only queues: a timer publishes batches in the background, so an invocation never
 * waits for NATS; when the queue is full (NATS slow or away) records are dropped and counted.
 */
export class JetStreamLogStore implements LogStore {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #log: Logger;
  readonly #stream: string;
  readonly #maxPending: number;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #limits: { maxBytes: number; maxAgeMs: number; maxRecordsPerFunction: number };
  readonly #subscriptions = new Set<{ stop(): void }>();
  #pending: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #dropped = 0;
  #inFlight = 0;
  #lastDropWarnAt = 0;
  #closed = false;

  private constructor(options: JetStreamLogStoreOptions, js: JetStreamClient, jsm: JetStreamManager) {
    this.#nc = options.nc;
    this.#js = js;
    this.#jsm = jsm;
    this.#log = options.log.child({ component: 'log-store' });
    this.#stream = options.stream ?? LOG_STREAM;
    this.#maxPending = options.maxPendingRecords ?? DEFAULT_LOG_MAX_PENDING_RECORDS;
    this.#batchSize = options.batchSize ?? DEFAULT_LOG_BATCH_SIZE;
    this.#flushIntervalMs = options.flushIntervalMs ?? DEFAULT_LOG_FLUSH_INTERVAL_MS;
    this.#limits = {
      maxBytes: options.maxBytes ?? DEFAULT_LOG_STREAM_MAX_BYTES,
      maxAgeMs: options.maxAgeMs ?? DEFAULT_LOG_STREAM_MAX_AGE_MS,
      maxRecordsPerFunction: options.maxRecordsPerFunction ?? DEFAULT_LOG_STREAM_MAX_RECORDS_PER_FUNCTION,
    };
  }

  /** The stream's name. */
  get stream(): string {
    return this.#stream;
  }

  /** Creates (or updates the limits of) the log stream and returns a store on it. */
  static async open(options: JetStreamLogStoreOptions): Promise<JetStreamLogStore> {
    const js = jetstream(options.nc);
    const jsm = await jetstreamManager(options.nc);
    const store = new JetStreamLogStore(options, js, jsm);
    await store.ensureStream();
    return store;
  }

  /** Creates the stream, or brings an existing one's limits in line (call again after NATS lost its store). */
  async ensureStream(): Promise<void> {
    const config = logStreamConfig(this.#stream, this.#limits);
    try {
      const info = await this.#jsm.streams.info(this.#stream);
      const c = info.config;
      if (c.max_bytes !== config.max_bytes || c.max_age !== config.max_age || c.max_msgs_per_subject !== config.max_msgs_per_subject) {
        await this.#jsm.streams.update(this.#stream, { max_bytes: config.max_bytes, max_age: config.max_age, max_msgs_per_subject: config.max_msgs_per_subject });
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.StreamNotFound) throw err;
      try {
        await this.#jsm.streams.add(config);
      } catch (addErr) {
        // Another node created it between our info and add: fine.
        if (!(addErr instanceof JetStreamApiError) || addErr.code !== STREAM_NAME_IN_USE) throw addErr;
      }
    }
  }

  get dropped(): number {
    return this.#dropped;
  }

  /** Records queued and not yet acknowledged by JetStream. */
  get pendingRecords(): number {
    return this.#pending.length + this.#inFlight;
  }

  append(record: LogRecord): void {
    if (this.#closed || this.#pending.length >= this.#maxPending) {
      this.#drop(1);
      return;
    }
    this.#pending.push({ subject: logSubject(record.functionName), data: JSON.stringify(record) });
    if (this.#flushing) return;
    if (this.#pending.length >= this.#batchSize) this.#startFlush();
    else this.#timer ??= setTimeout(() => this.#startFlush(), this.#flushIntervalMs);
  }

  #startFlush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#flushing || this.#pending.length === 0) return;
    this.#flushing = this.#flushAll().finally(() => {
      this.#flushing = undefined;
      // Records appended between the loop's last check and now would otherwise wait for the next append.
      if (this.#pending.length > 0) this.#startFlush();
    });
  }

  async #flushAll(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#batchSize);
      this.#inFlight = batch.length;
      // One PubAck per batch instead of one per record (a request each: most of the CPU logging
      // cost per invocation). The records before the last go out as plain publishes on the same
      // connection; JetStream stores a connection's messages to a stream in order, so the last
      // record's ack means the whole batch was processed. A failed batch counts all its records
      // as dropped (some may have been stored).
      try {
        const last = batch.length - 1;
        for (let i = 0; i < last; i++) this.#nc.publish(batch[i]!.subject, batch[i]!.data);
        await this.#js.publish(batch[last]!.subject, batch[last]!.data);
      } catch (err) {
        this.#drop(batch.length, err);
      } finally {
        this.#inFlight = 0;
      }
    }
  }

  #drop(count: number, cause?: unknown): void {
    this.#dropped += count;
    const now = Date.now();
    if (now - this.#lastDropWarnAt > 10_000) {
      this.#lastDropWarnAt = now;
      this.#log.warn({ dropped: this.#dropped, err: cause instanceof Error ? cause.message : undefined }, 'log records dropped (JetStream slow or unreachable)');
    }
  }

  /** Reads a function's records; throws IsletError EventsUnavailable when JetStream cannot answer. */
  async query(functionName: string, query: LogQuery = {}): Promise<LogQueryResult> {
    try {
      return await this.#query(functionName, query);
    } catch (err) {
      throw new IsletError('EventsUnavailable', 'function logs are kept in JetStream, which cannot answer right now; retry shortly', { cause: err });
    }
  }

  async #query(functionName: string, query: LogQuery): Promise<LogQueryResult> {
    const consumer = await this.#js.consumers.get(this.#stream, {
      filter_subjects: logSubject(functionName),
      ...(query.since === undefined ? { deliver_policy: DeliverPolicy.All } : { opt_start_time: new Date(query.since).toISOString() }),
    });
    const collector = new QueryCollector(query);
    try {
      let remaining = (await consumer.info(true)).num_pending;
      let scanned = 0;
      while (remaining > 0 && scanned < MAX_LOG_SCAN_RECORDS) {
        const messages = await consumer.fetch({ max_messages: Math.min(FETCH_BATCH, remaining), expires: FETCH_EXPIRES_MS });
        let got = 0;
        let stop = false;
        for await (const m of messages) {
          got++;
          scanned++;
          remaining = Math.min(remaining - 1, m.info.pending);
          const record = parseRecord(m.string(), functionName, m.seq);
          if (record && !collector.offer(record)) stop = true;
          if (stop || remaining <= 0) break;
        }
        if (stop || got === 0) break;
      }
      if (scanned >= MAX_LOG_SCAN_RECORDS) return { ...collector.result(), truncated: true };
      return collector.result();
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }

  subscribe(functionName: string, listener: (record: LogRecord) => void): () => void {
    let stopped = false;
    let messages: ConsumerMessages | undefined;
    const handle = {
      stop: () => {
        stopped = true;
        this.#subscriptions.delete(handle);
        void messages?.close().catch(() => undefined);
      },
    };
    this.#subscriptions.add(handle);
    void (async () => {
      const consumer = await this.#js.consumers.get(this.#stream, { filter_subjects: logSubject(functionName), deliver_policy: DeliverPolicy.New });
      if (stopped) return;
      const iter = await consumer.consume();
      messages = iter;
      if (stopped) { await iter.close(); return; }
      for await (const m of iter) {
        const record = parseRecord(m.string(), functionName, m.seq);
        if (record) {
          try { listener(record); } catch { /* a listener's fault is its own */ }
        }
      }
    })().catch((err: unknown) => {
      if (!stopped) this.#log.warn({ err: (err as Error).message, fn: functionName }, 'log follow ended');
    });
    return handle.stop;
  }

  /** Publishes what is pending (waiting up to a few seconds) and stops live subscriptions. The connection stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const sub of [...this.#subscriptions]) sub.stop();
    this.#startFlush();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#flushing, new Promise((r) => { timer = setTimeout(r, CLOSE_FLUSH_WAIT_MS); })]);
    clearTimeout(timer);
    if (this.#pending.length > 0) this.#drop(this.#pending.splice(0).length);
  }

}

/** Parses a stored record; anything malformed (e.g. published by someone else) is skipped. */
function parseRecord(text: string, functionName: string, seq: number): LogRecord | undefined {
  let value: unknown;
  try { value = JSON.parse(text); } catch { return undefined; }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r.type !== 'string' || !(r.type in LogRecordTypes) || typeof r.time !== 'string' || typeof r.requestId !== 'string') return undefined;
  if (r.type === 'line' && typeof r.message !== 'string') return undefined;
  return { ...(r as unknown as LogRecord), functionName, seq };
}
