import { createHash, randomUUID } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import type { Config } from '../../config.ts';
import { DEFAULT_ASYNC_CONCURRENCY_PER_FUNCTION } from '../../defaults.ts';
import { IsletError, isIsletError } from '../../errors.ts';
import type { EventPayload, HttpPayload, Invoker } from '../../invoke/types.ts';
import type { Logger } from '../../observability/logger.ts';
import type { FunctionRecord, RegistryStore } from '../../registry/types.ts';
import { eventsUnavailable, type NatsEvents } from '../connection.ts';
import type { DestinationDeps } from '../destinations.ts';
import type { AsyncInvoker } from '../types.ts';
import { AsyncConfigs } from './config.ts';
import type { AsyncMetrics, AsyncQueueCore } from './core.ts';
import { DeadLetters } from './dead-letters.ts';
import { ASYNC_STREAM, ASYNC_SUBJECT_PREFIX, consumerName, ensureAsyncResources, STATUS_BUCKET } from './jetstream.ts';
import { AsyncHeaders, encodeEvent, payloadData, type QueuedEvent } from './message.ts';
import { InvocationStatusStore, type InvocationState, type InvocationStatus } from './status.ts';
import { FunctionWorker } from './worker.ts';

/** Room kept in a NATS message for our headers. */
const HEADER_ROOM_BYTES = 8 * 1024;
/** How long close() lets running async invocations finish before aborting them (they are redelivered). */
export const ASYNC_SHUTDOWN_GRACE_MS = 10_000;

/** Options of {@link AsyncQueue.start}. */
export interface AsyncQueueOptions {
  events: NatsEvents;
  store: RegistryStore;
  invoker: Invoker;
  config: Config;
  log: Logger;
  /** Epoch-ms clock. @default Date.now */
  now?: () => number;
  /** @default DEFAULT_ASYNC_CONCURRENCY_PER_FUNCTION */
  concurrencyPerFunction?: number;
  /** Prometheus hooks (queue depth, event age, dead letters, destination failures). */
  metrics?: AsyncMetrics;
  /**
   * Looks a function up for `enqueue` (does it exist?). The server passes the registry's
   * in-memory cache, so an enqueue reads no file. @default store.getFunction
   */
  findFunction?: (name: string) => Promise<FunctionRecord | undefined>;
}

/**
 * Async invocation on JetStream: `enqueue` stores an event (202 only after the PubAck), and a
 * worker per function pulls and runs events with retries, destinations and dead letters.
 */
export class AsyncQueue implements AsyncInvoker {
  readonly configs: AsyncConfigs;
  readonly deadLetters: DeadLetters;
  readonly #events: NatsEvents;
  readonly #store: RegistryStore;
  readonly #findFunction: (name: string) => Promise<FunctionRecord | undefined>;
  readonly #log: Logger;
  readonly #maxEventBytes: number;
  readonly #perFunction: number;
  readonly #core: AsyncQueueCore;
  readonly #workers = new Map<string, FunctionWorker>();
  #status: InvocationStatusStore | undefined;
  #idempotency: KV | undefined;
  #ready: Promise<void> | undefined;
  #closed = false;
  readonly #unsubscribe: Array<() => void> = [];

  private constructor(options: AsyncQueueOptions) {
    this.#events = options.events;
    this.#store = options.store;
    this.#findFunction = options.findFunction ?? ((name) => options.store.getFunction(name));
    this.#log = options.log.child({ component: 'async' });
    this.#maxEventBytes = options.config.ISLET_MAX_EVENT_BYTES;
    this.#perFunction = options.concurrencyPerFunction ?? DEFAULT_ASYNC_CONCURRENCY_PER_FUNCTION;
    this.configs = new AsyncConfigs(options.store);
    this.deadLetters = new DeadLetters(() => this.#core);
    // The worker acks each event on this same connection after delivering its record.
    const destinationDeps: DestinationDeps = { events: this.#events, asyncInvoker: this, log: this.#log, maxEventBytes: this.#maxEventBytes, orderedBeforeAck: true };
    const self = this;
    this.#core = {
      events: this.#events,
      invoker: options.invoker,
      configs: this.configs,
      log: this.#log,
      metrics: options.metrics ?? { asyncQueueDepth() {}, asyncEventAge() {}, eventDeadLettered() {}, destinationFailed() {} },
      now: options.now ?? Date.now,
      get status() { return self.#status; },
      deadLetters: this.deadLetters,
      destinationDeps,
      requeue: (fn, event, msgId) => this.#publish(fn, event, msgId).then(() => undefined),
      setStatus: (fn, event, state, attempts, lastError) => this.#setStatus(fn, event, state, attempts, lastError),
    };
  }

  /** Creates the queue; streams, buckets and workers follow as soon as NATS is connected. */
  static start(options: AsyncQueueOptions): AsyncQueue {
    const queue = new AsyncQueue(options);
    if (options.events.mode !== 'disabled') {
      // Set up again after every (re)connect: a fresh server may have lost the streams.
      queue.#unsubscribe.push(options.events.onConnect(() => {
        const setUp = queue.#setUp();
        queue.#ready = setUp;
        setUp.catch(() => undefined);
      }));
      queue.#unsubscribe.push(options.store.watch((change) => {
        if (change.collection !== 'functions') return;
        const work = change.op === 'delete' ? queue.#removeFunction(change.id) : queue.#syncWorker(change.id);
        work.catch((err) => queue.#log.error({ err, fn: change.id }, 'async worker update failed'));
      }));
    }
    return queue;
  }

  async #setUp(): Promise<void> {
    try {
      const { status, idempotency } = await ensureAsyncResources(this.#events);
      this.#status = new InvocationStatusStore(status, this.#events.nc, STATUS_BUCKET);
      this.#idempotency = idempotency;
      for (const fn of await this.#store.listFunctions()) await this.#syncWorker(fn.name);
      this.#log.info({ functions: this.#workers.size }, 'async queue ready');
    } catch (err) {
      this.#log.error({ err }, 'async queue setup failed; retrying on the next reconnect or enqueue');
      this.#ready = undefined;
      throw err;
    }
  }

  async #whenReady(): Promise<void> {
    this.#events.assertAvailable();
    this.#ready ??= this.#setUp();
    try {
      await this.#ready;
    } catch (err) {
      throw eventsUnavailable('the async queue could not set up its JetStream streams', err);
    }
  }

  /** Starts, or resizes, the worker of a function that exists. */
  async #syncWorker(fn: string): Promise<void> {
    if (this.#closed) return;
    const record = await this.#store.getFunction(fn);
    if (!record) return;
    const reserved = record.config.reservedConcurrency;
    // reservedConcurrency 0: keep one puller so throttled events are noticed when it is raised.
    const concurrency = reserved === undefined ? this.#perFunction : Math.max(1, Math.min(reserved, this.#perFunction));
    const existing = this.#workers.get(fn);
    if (existing) { existing.concurrency = concurrency; return; }
    const worker = new FunctionWorker(fn, concurrency, this.#core);
    this.#workers.set(fn, worker);
    worker.start();
  }

  /** Function deleted: stop its worker, remove its consumer and queued events, and its async config. */
  async #removeFunction(fn: string): Promise<void> {
    const worker = this.#workers.get(fn);
    this.#workers.delete(fn);
    await worker?.stop(0);
    await this.configs.delete(fn).catch(() => false);
    if (!this.#events.available()) return;
    try {
      await this.#events.jsm.consumers.delete(ASYNC_STREAM, consumerName(fn)).catch(() => false);
      const purged = await this.#events.jsm.streams.purge(ASYNC_STREAM, { filter: `${ASYNC_SUBJECT_PREFIX}${fn}` });
      if (purged.purged > 0) this.#log.warn({ fn, purged: purged.purged }, 'function deleted; its queued async events were removed');
    } catch (err) {
      this.#log.warn({ err: (err as Error).message, fn }, 'could not remove the async consumer of a deleted function');
    }
  }

  /** Stores an event; resolves with its request id once JetStream acknowledged it. */
  async enqueue(name: string, payload: EventPayload | HttpPayload, options: { idempotencyKey?: string } = {}): Promise<{ requestId: string; duplicate: boolean }> {
    if (this.#closed) throw new IsletError('ShuttingDown', 'The server is shutting down.');
    const size = payloadData(payload).byteLength;
    if (size > this.#maxEventBytes) throw new IsletError('PayloadTooLarge', `the event is ${size} bytes; async events are capped at ${this.#maxEventBytes} bytes (ISLET_MAX_EVENT_BYTES)`);
    await this.#whenReady();
    const maxPayload = this.#events.nc.info?.max_payload;
    // An HTTP call's method, path and headers travel base64-encoded in a message header.
    const metaBytes = payload.kind === 'http' ? Math.ceil(Buffer.byteLength(JSON.stringify({ ...payload, body: null })) * 4 / 3) : 0;
    if (maxPayload !== undefined && size + metaBytes > maxPayload - HEADER_ROOM_BYTES) {
      throw new IsletError('PayloadTooLarge', `the event is ${size + metaBytes} bytes with its metadata; the NATS server accepts at most ${maxPayload - HEADER_ROOM_BYTES} (raise max_payload there)`);
    }
    if (!(await this.#findFunction(name))) throw new IsletError('FunctionNotFound', `function ${name} does not exist`);
    if (!this.#workers.has(name)) this.#syncWorker(name).catch((err) => this.#log.error({ err, fn: name }, 'async worker start failed'));

    let requestId: string = randomUUID();
    let duplicate = false;
    let msgId = requestId;
    try {
      if (options.idempotencyKey !== undefined) {
        const hash = createHash('sha256').update(options.idempotencyKey).digest('hex').slice(0, 40);
        msgId = `idem.${name}.${hash}`;
        // The first request with this key claims it; later ones get its request id. The event
        // is published again under the same Nats-Msg-Id either way: if the first request died
        // before its publish, this one stores it, so a 202 always means "stored".
        try {
          await this.#idempotency!.create(`${name}.${hash}`, requestId);
        } catch (err) {
          const entry = await this.#idempotency!.get(`${name}.${hash}`);
          if (!entry || entry.operation !== 'PUT') throw err;
          requestId = entry.string();
          duplicate = true;
        }
      }
      const event: QueuedEvent = { requestId, enqueuedAt: Date.now(), attempts: 0, payload };
      if (!duplicate) this.#setStatus(name, event, 'queued', 0);
      const ack = await this.#publish(name, event, msgId);
      if (ack.duplicate && !duplicate) {
        duplicate = true;
        const original = await this.#originalRequestId(ack.seq);
        if (original && original !== requestId) {
          void this.#status?.delete(requestId).catch(() => undefined);
          requestId = original;
        }
      }
      return { requestId, duplicate };
    } catch (err) {
      if (isIsletError(err)) throw err;
      if (/max(imum)?.?payload/i.test((err as Error).message)) throw new IsletError('PayloadTooLarge', 'the event is over the NATS server\'s max_payload', { cause: err });
      throw eventsUnavailable('JetStream did not store the event', err);
    }
  }

  async #originalRequestId(seq: number): Promise<string | undefined> {
    try {
      const stored = await this.#events.jsm.streams.getMessage(ASYNC_STREAM, { seq });
      return stored?.header.get(AsyncHeaders.requestId) || undefined;
    } catch {
      return undefined;
    }
  }

  #publish(fn: string, event: QueuedEvent, msgId: string) {
    const { headers, data } = encodeEvent(event);
    return this.#events.js.publish(`${ASYNC_SUBJECT_PREFIX}${fn}`, data, { headers, msgID: msgId });
  }

  #setStatus(fn: string, event: QueuedEvent, state: InvocationState, attempts: number, lastError?: string): void {
    const status: InvocationStatus = {
      requestId: event.requestId,
      functionName: fn,
      state,
      attempts,
      enqueuedAt: new Date(event.enqueuedAt).toISOString(),
      updatedAt: new Date(this.#core.now()).toISOString(),
      ...(lastError ? { lastError: lastError.slice(0, 1_000) } : {}),
    };
    try {
      this.#status?.put(status);
    } catch (err) {
      this.#log.debug({ err: (err as Error).message, requestId: event.requestId }, 'status update failed');
    }
  }

  /** `GET /v1/invocations/:requestId`. Throws NotFound for unknown ids. */
  async invocationStatus(requestId: string): Promise<InvocationStatus> {
    await this.#whenReady();
    const status = await this.#status!.get(requestId);
    if (!status) throw new IsletError('NotFound', `no async invocation ${requestId.slice(0, 128)} (statuses are kept 24 h)`);
    return status;
  }

  /** Throws EventsUnavailable unless the queue can be used now (routes call it first). */
  async assertReady(): Promise<void> {
    await this.#whenReady();
  }

  /** Stops pulling, lets running events finish (bounded), nak'ing the rest. Call before NatsEvents.close(). */
  async close(graceMs = ASYNC_SHUTDOWN_GRACE_MS): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#unsubscribe) off();
    this.configs.close();
    await Promise.allSettled([...this.#workers.values()].map((w) => w.stop(graceMs)));
    this.#workers.clear();
  }
}
