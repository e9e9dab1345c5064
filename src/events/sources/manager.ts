import { randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy, RetentionPolicy, type ConsumerConfig, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { IsletError } from '../../errors.ts';
import type { Invoker } from '../../invoke/types.ts';
import type { Logger } from '../../observability/logger.ts';
import type { EventMetrics } from '../../observability/metrics.ts';
import type { RegistryStore } from '../../registry/types.ts';
import { ensureDeadLetterStream, failureDedupId, failureRecord, publishDeadLetter, splitForRecords, type EventSourceFailureRecord } from './failure.ts';
import { parseBody } from './parse.ts';
import { subjectCovers } from './subjects.ts';
import {
  createMappingSchema, EVENT_SOURCES_COLLECTION, MappingStates, updateMappingSchema,
  type EventSourceMapping, type FailureDestination, type MappingState,
} from './types.ts';
import { consumerMaxAckPending, DEFAULT_WORKER_TIMING, MappingWorker, type FailedBatch, type WorkerTiming } from './worker.ts';

/** The NATS handles the manager needs; `NatsEvents` (src/events/connection.ts) fits. */
export interface EventSourceNats {
  /** Only read for the server's max_payload. */
  readonly nc?: { info?: { max_payload: number } };
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  available?(): boolean;
  /** Called after the first connection and every reconnect. */
  onConnect?(listener: () => void): () => void;
}

/**
 * Delivers a failure record to a user's destination (`deliverRecord` of src/events/destinations.ts);
 * throws when it could not. `dedupId` is the same when the same record is sent again.
 */
export type FailureDelivery = (destination: FailureDestination, record: EventSourceFailureRecord, dedupId: string) => Promise<void>;

export interface EventSourceManagerDeps {
  store: RegistryStore;
  invoker: Invoker;
  nats: EventSourceNats | undefined;
  log: Logger;
  /** Sends on-failure records; without it every failure goes to the dead-letter stream. */
  deliverFailure?: FailureDelivery;
  timing?: Partial<WorkerTiming>;
  /** Prometheus hooks (src/observability/metrics.ts). */
  metrics?: Pick<EventMetrics, 'batchProcessed' | 'eventSourceLag' | 'eventDeadLettered'>;
  /** How often counters are written to the registry. @default 2000 */
  persistIntervalMs?: number;
}

/** NATS's default max_payload, used when the server did not say. */
const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** Stream name islet creates for a mapping of a plain subject. */
export function ownedStreamName(id: string): string {
  return `ISLET_ESM_${id}`;
}

/** Durable consumer name of a mapping. */
export function consumerName(id: string): string {
  return `islet-esm-${id}`;
}

/**
 * Event-source mappings: stores them in the registry, owns one durable pull consumer and one
 * {@link MappingWorker} per enabled mapping, and restores them at start.
 */
export class EventSourceManager {
  readonly #deps: EventSourceManagerDeps;
  readonly #timing: WorkerTiming;
  readonly #mappings = new Map<string, EventSourceMapping>();
  readonly #workers = new Map<string, MappingWorker>();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #dirty = new Set<string>();
  #flushTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #closed = false;
  #reportingLag = false;

  constructor(deps: EventSourceManagerDeps) {
    this.#deps = deps;
    this.#timing = { ...DEFAULT_WORKER_TIMING, ...deps.timing };
  }

  /** Loads stored mappings and resumes the enabled ones (now, or once NATS connects). */
  async start(): Promise<void> {
    for (const mapping of await this.#deps.store.listDocs<EventSourceMapping>(EVENT_SOURCES_COLLECTION)) {
      this.#mappings.set(mapping.id, mapping);
    }
    this.#flushTimer = setInterval(() => { void this.#flush(); void this.#reportLag(); }, this.#deps.persistIntervalMs ?? 2_000);
    this.#flushTimer.unref();
    const resume = () => { void this.#resumeAll(); };
    if (this.#deps.nats?.onConnect) this.#unsubscribe = this.#deps.nats.onConnect(resume);
    else if (this.#deps.nats) await this.#resumeAll();
  }

  async #resumeAll(): Promise<void> {
    for (const id of [...this.#mappings.keys()]) {
      await this.#locked(id, () => this.#recover(id)).catch((err: unknown) => {
        this.#deps.log.error({ err, mappingId: id }, 'could not resume event source mapping');
      });
    }
  }

  /** Finishes what a crash interrupted and starts the worker of an enabled mapping. */
  async #recover(id: string): Promise<void> {
    const mapping = this.#mappings.get(id);
    if (!mapping || this.#closed) return;
    if (mapping.state === MappingStates.deleting) { await this.#remove(mapping); return; }
    if (this.#workers.has(id)) return;
    const { jsm } = this.#nats();
    await ensureDeadLetterStream(jsm);
    if (mapping.streamOwned) await this.#ensureOwnedStream(mapping);
    await this.#ensureConsumer(mapping);
    await this.#setState(mapping, mapping.enabled ? MappingStates.enabled : MappingStates.disabled);
    if (mapping.enabled) await this.#startWorker(mapping);
  }

  /** Creates a mapping (`POST /v1/event-sources`). */
  async create(body: unknown): Promise<EventSourceMapping> {
    const spec = parseBody(createMappingSchema, body);
    if (!(await this.#deps.store.getFunction(spec.function))) throw new IsletError('FunctionNotFound', `function ${spec.function} does not exist`);
    const { jsm } = this.#nats();
    const id = randomUUID();
    const now = new Date().toISOString();
    let stream: string;
    let filterSubject: string | undefined;
    let streamOwned = false;
    if ('subject' in spec.source) {
      const existing = await this.#streamCovering(spec.source.subject);
      if (existing) { stream = existing; filterSubject = spec.source.subject; } else { stream = ownedStreamName(id); streamOwned = true; }
    } else {
      stream = spec.source.stream;
      filterSubject = spec.source.filterSubject;
      try { await jsm.streams.info(stream); } catch { throw new IsletError('InvalidConfig', `stream ${stream} does not exist`); }
    }
    const mapping: EventSourceMapping = {
      ...spec, id, state: MappingStates.creating, stream, ...(filterSubject ? { filterSubject } : {}), streamOwned,
      consumer: consumerName(id), lastProcessingResult: 'No records processed', lastModified: now, createdAt: now,
      counters: { processed: 0, failed: 0, filtered: 0, invocations: 0 },
    };
    return this.#locked(id, async () => {
      this.#mappings.set(id, mapping);
      await this.#persist(mapping);
      try {
        await ensureDeadLetterStream(jsm);
        if (streamOwned) await this.#ensureOwnedStream(mapping);
        await this.#ensureConsumer(mapping);
      } catch (err) {
        this.#mappings.delete(id);
        await this.#deps.store.deleteDoc(EVENT_SOURCES_COLLECTION, id);
        if (streamOwned) await jsm.streams.delete(stream).catch(() => undefined);
        throw err instanceof IsletError ? err : new IsletError('InternalError', 'could not create the JetStream consumer', { cause: err });
      }
      await this.#setState(mapping, mapping.enabled ? MappingStates.enabled : MappingStates.disabled);
      if (mapping.enabled) await this.#startWorker(mapping);
      this.#deps.log.info({ mappingId: id, fn: mapping.function, stream, filterSubject }, 'event source mapping created');
      return snapshot(mapping);
    });
  }

  /** All mappings, optionally of one function. */
  list(functionName?: string): EventSourceMapping[] {
    return [...this.#mappings.values()]
      .filter((m) => functionName === undefined || m.function === functionName)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map(snapshot);
  }

  /** One mapping; NotFound when there is none. */
  get(id: string): EventSourceMapping {
    return snapshot(this.#get(id));
  }

  /** Changes settings and/or enables or disables (`PUT /v1/event-sources/:id`). */
  async update(id: string, body: unknown): Promise<EventSourceMapping> {
    const patch = parseBody(updateMappingSchema, body);
    this.#get(id);
    return this.#locked(id, async () => {
      const mapping = this.#get(id);
      if (mapping.state === MappingStates.deleting) throw new IsletError('Conflict', `mapping ${id} is being deleted`);
      const settingsChange = Object.keys(patch).some((k) => k !== 'enabled');
      const enabled = patch.enabled ?? mapping.enabled;
      await this.#setState(mapping, settingsChange ? MappingStates.updating : enabled ? MappingStates.enabled : MappingStates.disabling);
      await this.#stopWorker(id);
      const pendingBefore = consumerMaxAckPending(mapping);
      Object.assign(mapping, patch);
      if (consumerMaxAckPending(mapping) !== pendingBefore) await this.#updateConsumer(mapping);
      await this.#setState(mapping, enabled ? MappingStates.enabled : MappingStates.disabled);
      if (enabled) await this.#startWorker(mapping);
      return snapshot(mapping);
    });
  }

  /** Enables or disables: a disabled mapping keeps its consumer, so nothing published meanwhile is lost. */
  setEnabled(id: string, enabled: boolean): Promise<EventSourceMapping> {
    return this.update(id, { enabled });
  }

  /** Deletes the mapping, its consumer and the stream islet made for it. */
  async delete(id: string): Promise<EventSourceMapping> {
    this.#get(id);
    return this.#locked(id, async () => {
      const mapping = this.#get(id);
      await this.#setState(mapping, MappingStates.deleting);
      const result = snapshot(mapping);
      await this.#remove(mapping);
      return result;
    });
  }

  async #remove(mapping: EventSourceMapping): Promise<void> {
    await this.#stopWorker(mapping.id);
    const { jsm } = this.#nats();
    await jsm.consumers.delete(mapping.stream, mapping.consumer).catch(() => undefined);
    if (mapping.streamOwned) await jsm.streams.delete(mapping.stream).catch(() => undefined);
    this.#mappings.delete(mapping.id);
    this.#dirty.delete(mapping.id);
    await this.#deps.store.deleteDoc(EVENT_SOURCES_COLLECTION, mapping.id);
    this.#deps.log.info({ mappingId: mapping.id, fn: mapping.function }, 'event source mapping deleted');
  }

  /** Stops every worker (buffered messages go back to JetStream) and writes the counters. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    clearInterval(this.#flushTimer);
    await Promise.all([...this.#workers.keys()].map((id) => this.#stopWorker(id, { abortWaiting: true })));
    await this.#flush();
  }

  #get(id: string): EventSourceMapping {
    const mapping = this.#mappings.get(id);
    if (!mapping) throw new IsletError('NotFound', `no event source mapping ${id}`);
    return mapping;
  }

  #nats(): { js: JetStreamClient; jsm: JetStreamManager } {
    const nats = this.#deps.nats;
    if (!nats || (nats.available && !nats.available())) {
      throw new IsletError('EventsUnavailable', 'Event source mappings need NATS JetStream: set NATS_URL or put nats-server on PATH.');
    }
    return { js: nats.js, jsm: nats.jsm };
  }

  /** The stream that already stores `subject`; Conflict when one overlaps it without covering it. */
  async #streamCovering(subject: string): Promise<string | undefined> {
    const { jsm } = this.#nats();
    let name: string;
    try { name = await jsm.streams.find(subject); } catch { return undefined; }
    const info = await jsm.streams.info(name);
    if ((info.config.subjects ?? []).some((s) => subjectCovers(s, subject))) return name;
    throw new IsletError('Conflict', `stream ${name} captures part of ${subject}; map that stream ({"stream": "${name}"}) or a subject it fully covers`);
  }

  async #ensureOwnedStream(mapping: EventSourceMapping): Promise<void> {
    const { jsm } = this.#nats();
    const subject = 'subject' in mapping.source ? mapping.source.subject : undefined;
    if (!subject) return;
    try {
      await jsm.streams.info(mapping.stream);
    } catch {
      // Interest retention: a message is removed once the mapping's consumer acknowledged it.
      await jsm.streams.add({ name: mapping.stream, subjects: [subject], retention: RetentionPolicy.Interest }).catch((err: unknown) => {
        throw new IsletError('Conflict', `could not create a stream for ${subject}: ${(err as Error).message}`, { cause: err });
      });
    }
  }

  #consumerConfig(mapping: EventSourceMapping): Partial<ConsumerConfig> {
    const deliver = mapping.startingPosition === 'TRIM_HORIZON' ? DeliverPolicy.All
      : mapping.startingPosition === 'AT_TIMESTAMP' ? DeliverPolicy.StartTime : DeliverPolicy.New;
    return {
      durable_name: mapping.consumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.#timing.ackWaitMs),
      max_ack_pending: consumerMaxAckPending(mapping),
      // Retries are counted by the worker, so JetStream must never stop redelivering on its own.
      max_deliver: -1,
      deliver_policy: deliver,
      ...(deliver === DeliverPolicy.StartTime ? { opt_start_time: mapping.startingPositionTimestamp } : {}),
      ...(mapping.filterSubject ? { filter_subject: mapping.filterSubject } : {}),
    };
  }

  async #ensureConsumer(mapping: EventSourceMapping): Promise<void> {
    const { jsm } = this.#nats();
    try {
      await jsm.consumers.info(mapping.stream, mapping.consumer);
    } catch {
      if (mapping.state !== MappingStates.creating) this.#deps.log.warn({ mappingId: mapping.id }, 'event source consumer was missing; created it again');
      await jsm.consumers.add(mapping.stream, this.#consumerConfig(mapping));
    }
  }

  async #updateConsumer(mapping: EventSourceMapping): Promise<void> {
    const { jsm } = this.#nats();
    try {
      await jsm.consumers.update(mapping.stream, mapping.consumer, { max_ack_pending: consumerMaxAckPending(mapping) });
    } catch (err) {
      this.#deps.log.warn({ err, mappingId: mapping.id }, 'could not update the consumer max_ack_pending; keeping the old value');
    }
  }

  async #startWorker(mapping: EventSourceMapping): Promise<void> {
    if (this.#closed || this.#workers.has(mapping.id)) return;
    const { js } = this.#nats();
    const consumer = await js.consumers.get(mapping.stream, mapping.consumer);
    const worker = new MappingWorker(mapping, consumer, {
      invoker: this.#deps.invoker,
      log: this.#deps.log.child({ mappingId: mapping.id, fn: mapping.function }),
      timing: this.#timing,
      sendFailure: (m, failed) => this.#sendFailure(m, failed),
      onProgress: () => { this.#dirty.add(mapping.id); },
      onBatch: (size) => this.#deps.metrics?.batchProcessed(mapping.id, size),
    });
    this.#workers.set(mapping.id, worker);
    await worker.start();
  }

  async #stopWorker(id: string, options: { abortWaiting?: boolean } = {}): Promise<void> {
    const worker = this.#workers.get(id);
    if (!worker) return;
    this.#workers.delete(id);
    await worker.stop(options);
  }

  async #sendFailure(mapping: EventSourceMapping, failed: FailedBatch): Promise<void> {
    const { js } = this.#nats();
    const maxBytes = this.#maxPayload();
    for (const part of splitForRecords(failed, maxBytes)) {
      const record = failureRecord(mapping, part);
      if (mapping.onFailure && this.#deps.deliverFailure) {
        try {
          await this.#deps.deliverFailure(mapping.onFailure, record, failureDedupId(record));
          continue;
        } catch (err) {
          this.#deps.log.warn({ err, mappingId: mapping.id }, 'on-failure destination failed; storing the record in the dead-letter stream');
        }
      }
      await publishDeadLetter(js, record, maxBytes);
      this.#deps.metrics?.eventDeadLettered(mapping.function);
    }
  }

  #maxPayload(): number {
    try {
      return this.#deps.nats?.nc?.info?.max_payload ?? DEFAULT_MAX_PAYLOAD_BYTES;
    } catch {
      return DEFAULT_MAX_PAYLOAD_BYTES;
    }
  }

  async #setState(mapping: EventSourceMapping, state: MappingState): Promise<void> {
    mapping.state = state;
    mapping.lastModified = new Date().toISOString();
    await this.#persist(mapping);
  }

  async #persist(mapping: EventSourceMapping): Promise<void> {
    this.#dirty.delete(mapping.id);
    await this.#deps.store.putDoc(EVENT_SOURCES_COLLECTION, mapping.id, mapping);
  }

  /** Reports how many messages each running mapping has not received yet. */
  async #reportLag(): Promise<void> {
    const metrics = this.#deps.metrics;
    const nats = this.#deps.nats;
    if (!metrics || !nats || this.#reportingLag || (nats.available && !nats.available())) return;
    this.#reportingLag = true;
    try {
      for (const id of [...this.#workers.keys()]) {
        const mapping = this.#mappings.get(id);
        if (!mapping) continue;
        try {
          const info = await nats.jsm.consumers.info(mapping.stream, mapping.consumer);
          metrics.eventSourceLag(id, info.num_pending);
        } catch { /* the next round tries again */ }
      }
    } finally {
      this.#reportingLag = false;
    }
  }

  /** Writes counters that changed since the last write. */
  async #flush(): Promise<void> {
    for (const id of [...this.#dirty]) {
      await this.#locked(id, async () => {
        const mapping = this.#mappings.get(id);
        if (mapping && this.#dirty.has(id)) await this.#persist(mapping);
      }).catch((err: unknown) => this.#deps.log.warn({ err, mappingId: id }, 'could not store event source counters'));
    }
  }

  /** Runs `task` after every earlier task of the same mapping finished. */
  #locked<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(id) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.#locks.set(id, tail);
    void tail.then(() => { if (this.#locks.get(id) === tail) this.#locks.delete(id); });
    return run;
  }
}

function snapshot(mapping: EventSourceMapping): EventSourceMapping {
  return structuredClone(mapping);
}
