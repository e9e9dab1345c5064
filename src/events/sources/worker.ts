import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { isIsletError } from '../../errors.ts';
import type { BatchMessage, BatchPayload, FunctionErrorInfo, Invoker } from '../../invoke/types.ts';
import { Triggers } from '../../invoke/types.ts';
import { DEFAULT_EVENT_SOURCE_ACK_WAIT_MS } from '../../defaults.ts';
import type { Logger } from '../../observability/logger.ts';
import { compileFilter, type MessageFilter } from './filter.ts';
import { MAX_BATCH_BYTES, type EventSourceMapping } from './types.ts';

/** Why messages left the mapping without being processed. */
export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** A group of messages the mapping gives up on, for the on-failure destination or the dead-letter stream. */
export interface FailedBatch {
  condition: FailureCondition;
  messages: BatchMessage[];
  /** The last invocation's error, when there was one. */
  error?: FunctionErrorInfo;
  requestId?: string;
  attempts: number;
}

/** What a worker needs from its manager. */
export interface WorkerDeps {
  invoker: Invoker;
  log: Logger;
  /** Stores a failed group durably (destination or DLQ); throws when it could not. */
  sendFailure(mapping: EventSourceMapping, failed: FailedBatch): Promise<void>;
  /** Counters and lastProcessingResult changed. */
  onProgress(): void;
  /** A batch (or bisected part, or retry) is handed to the function. */
  onBatch?(size: number): void;
  timing: WorkerTiming;
}

/** Timing knobs; production uses the defaults, tests shorten them. */
export interface WorkerTiming {
  /** Consumer ack_wait; held messages get `working()` every third of it. @default 30000 */
  ackWaitMs: number;
  /** First retry delay; doubles per attempt. @default 1000 */
  retryBaseDelayMs: number;
  /** Retry delay cap. @default 60000 */
  retryMaxDelayMs: number;
}

export const DEFAULT_WORKER_TIMING: WorkerTiming = { ackWaitMs: DEFAULT_EVENT_SOURCE_ACK_WAIT_MS, retryBaseDelayMs: 1_000, retryMaxDelayMs: 60_000 };

interface Held {
  msg: JsMsg;
  item: BatchMessage;
  bytes: number;
  receivedAt: number;
  /** Retries done in this process without a redelivery (ordered mode). */
  localRetries: number;
}

type Attempt =
  | { kind: 'ok' }
  | { kind: 'partial'; failed: Held[]; delays: Map<string, number>; requestId: string }
  | { kind: 'failed'; error: FunctionErrorInfo; requestId?: string; delays?: Map<string, number> }
  | { kind: 'stopped' };

const FUNCTION_MISSING_RETRY_MS = 5_000;
/** Longest retry delay a function may ask for (Workers: 12 hours). */
const MAX_DELAY_SECONDS = 43_200;

/**
 * Reads one mapping's durable consumer, groups messages into batches (size, window, 6 MB cap),
 * invokes the function and settles every message: ack, nak(delay), or failure destination then ack.
 */
export class MappingWorker {
  readonly #mapping: EventSourceMapping;
  readonly #consumer: Consumer;
  readonly #deps: WorkerDeps;
  readonly #filter: MessageFilter;
  readonly #held = new Set<Held>();
  readonly #pending: Held[] = [];
  #pendingBytes = 0;
  #inFlight = 0;
  #messages: ConsumerMessages | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #windowTimer: NodeJS.Timeout | undefined;
  #pumpScheduled = false;
  #stopping = false;
  readonly #abort = new AbortController();
  /** Aborts invocations still waiting for a runtime slot (server shutdown only). */
  readonly #abortInvocations = new AbortController();
  #idle: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(mapping: EventSourceMapping, consumer: Consumer, deps: WorkerDeps) {
    this.#mapping = mapping;
    this.#consumer = consumer;
    this.#deps = deps;
    this.#filter = compileFilter((mapping.filter?.filters ?? []).map((f) => f.pattern));
  }

  get #concurrency(): number {
    return this.#mapping.ordered ? 1 : this.#mapping.maxConcurrency;
  }

  /** Starts consuming. */
  async start(): Promise<void> {
    const maxMessages = Math.min(consumerMaxAckPending(this.#mapping), 10_000);
    this.#messages = await this.#consumer.consume({ max_messages: maxMessages, expires: 30_000 });
    // JetStream redelivers after ack_wait; keep the lease alive for buffered and running messages.
    this.#heartbeat = setInterval(() => { for (const h of this.#held) h.msg.working(); }, Math.max(100, Math.floor(this.#deps.timing.ackWaitMs / 3)));
    const messages = this.#messages;
    this.#loop = (async () => {
      try {
        for await (const msg of messages) this.#receive(msg);
      } catch (err) {
        if (!this.#stopping) this.#deps.log.error({ err }, 'event source consumer stopped');
      }
    })();
  }

  /**
   * Stops fetching, returns buffered messages to JetStream and waits for running batches.
   * `abortWaiting` (shutdown) also cancels invocations still queued for a runtime slot.
   */
  async stop(options: { abortWaiting?: boolean } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#abort.abort();
    if (options.abortWaiting) this.#abortInvocations.abort();
    clearTimeout(this.#windowTimer);
    await this.#messages?.close().catch(() => undefined);
    await this.#loop;
    for (const h of this.#pending.splice(0)) this.#settle(h, 'nak');
    this.#pendingBytes = 0;
    if (this.#inFlight > 0) await new Promise<void>((resolve) => { this.#idle = resolve; });
    clearInterval(this.#heartbeat);
  }

  #receive(msg: JsMsg): void {
    const item = toBatchMessage(msg);
    if (this.#stopping) { msg.nak(); return; }
    if (!this.#filter(item)) {
      msg.ack();
      this.#mapping.counters.filtered++;
      this.#deps.onProgress();
      return;
    }
    const held: Held = { msg, item, bytes: approxBytes(item), receivedAt: Date.now(), localRetries: 0 };
    this.#held.add(held);
    this.#pending.push(held);
    this.#pendingBytes += held.bytes;
    this.#schedulePump();
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // Let a burst of messages that arrived together land before cutting a batch.
    setImmediate(() => { this.#pumpScheduled = false; this.#pump(); });
  }

  #pump(): void {
    const { batchSize, maxBatchingWindowMs } = this.#mapping;
    while (!this.#stopping && this.#inFlight < this.#concurrency && this.#pending.length > 0) {
      const waitedMs = Date.now() - this.#pending[0]!.receivedAt;
      const ready = this.#pending.length >= batchSize || this.#pendingBytes >= MAX_BATCH_BYTES || waitedMs >= maxBatchingWindowMs;
      if (!ready) {
        clearTimeout(this.#windowTimer);
        this.#windowTimer = setTimeout(() => this.#pump(), maxBatchingWindowMs - waitedMs);
        return;
      }
      const batch = this.#takeBatch();
      this.#inFlight++;
      this.#runBatch(batch)
        .catch((err: unknown) => {
          this.#deps.log.error({ err }, 'event source batch failed unexpectedly; returning messages');
          for (const h of batch) if (this.#held.has(h)) this.#settle(h, 'nak', this.#deps.timing.retryBaseDelayMs);
        })
        .finally(() => {
          this.#inFlight--;
          if (this.#inFlight === 0 && this.#idle) this.#idle();
          this.#pump();
        });
    }
  }

  #takeBatch(): Held[] {
    const batch: Held[] = [];
    let bytes = 0;
    while (batch.length < this.#mapping.batchSize && this.#pending.length > 0) {
      const next = this.#pending[0]!;
      if (batch.length > 0 && bytes + next.bytes > MAX_BATCH_BYTES) break;
      this.#pending.shift();
      bytes += next.bytes;
      batch.push(next);
    }
    this.#pendingBytes -= bytes;
    return batch;
  }

  async #runBatch(batch: Held[]): Promise<void> {
    const fresh: Held[] = [];
    const expired: Held[] = [];
    for (const h of batch) (this.#tooOld(h) ? expired : fresh).push(h);
    if (expired.length > 0) await this.#giveUp(expired, 'RecordAgeExceeded');
    if (fresh.length > 0) await this.#process(fresh);
  }

  /** One attempt at a group, then bisect, retry or give up as the settings say. */
  async #process(batch: Held[]): Promise<void> {
    const attempt = await this.#invoke(batch);
    switch (attempt.kind) {
      case 'stopped':
        for (const h of batch) this.#settle(h, 'nak');
        return;
      case 'ok':
        this.#succeed(batch);
        return;
      case 'partial': {
        if (this.#mapping.ordered) {
          // Checkpoint before the first failure; the rest is retried in order.
          const first = batch.findIndex((h) => attempt.failed.includes(h));
          this.#succeed(batch.slice(0, first));
          await this.#fail(batch.slice(first), undefined, attempt.requestId, attempt.delays);
        } else {
          this.#succeed(batch.filter((h) => !attempt.failed.includes(h)));
          await this.#fail(attempt.failed, undefined, attempt.requestId, attempt.delays);
        }
        return;
      }
      case 'failed':
        if (this.#stopping && this.#abortInvocations.signal.aborted) {
          for (const h of batch) this.#settle(h, 'nak');
          return;
        }
        // An explicit retry delay from the function wins over bisecting at once.
        if (this.#mapping.bisectOnError && batch.length > 1 && !attempt.delays?.size) {
          const middle = Math.ceil(batch.length / 2);
          await this.#process(batch.slice(0, middle));
          await this.#process(batch.slice(middle));
          return;
        }
        await this.#fail(batch, attempt.error, attempt.requestId, attempt.delays);
    }
  }

  async #invoke(batch: Held[]): Promise<Attempt> {
    const { source } = this.#mapping;
    const payload: BatchPayload = {
      kind: 'batch',
      source: { mappingId: this.#mapping.id, stream: this.#mapping.stream, ...('subject' in source ? { subject: source.subject } : {}) },
      messages: batch.map((h) => ({ ...h.item, attempts: h.item.attempts + h.localRetries })),
    };
    for (;;) {
      if (this.#stopping) return { kind: 'stopped' };
      try {
        this.#mapping.counters.invocations++;
        this.#deps.onBatch?.(batch.length);
        const result = await this.#deps.invoker.invoke(this.#mapping.function, payload, {
          trigger: Triggers.eventSource,
          signal: this.#abortInvocations.signal,
          attempt: Math.max(...payload.messages.map((m) => m.attempts)),
        });
        // An edge queue() that threw: outcome error with the exception, and the messages it had
        // not acked as failures (Workers semantics: explicit acks survive the throw).
        const thrown = result.outcome === 'error' && result.value?.kind === 'batch' ? result.error : undefined;
        if (result.outcome !== 'success' && thrown === undefined) {
          this.#result('PROBLEM: Function call failed');
          return { kind: 'failed', requestId: result.requestId, error: result.error ?? { errorType: result.outcome, errorMessage: `invocation ended: ${result.outcome}`, trace: [] } };
        }
        const failures = result.value?.kind === 'batch' ? result.value.failures : [];
        if (failures.length === 0) { this.#result('OK'); return { kind: 'ok' }; }
        const delays = new Map<string, number>();
        for (const f of failures) if (f.delaySeconds !== undefined && f.delaySeconds >= 0) delays.set(f.id, Math.min(f.delaySeconds, MAX_DELAY_SECONDS) * 1000);
        const failedIds = new Set(failures.map((f) => f.id));
        const failed = batch.filter((h) => failedIds.has(h.item.id));
        // Like Lambda: an unknown id fails the whole batch. Every message failing (e.g. an edge
        // queue() threw before acking) is a whole-batch failure too, so bisect applies.
        const why = failed.length < failedIds.size ? 'the function reported a failure for an id not in the batch'
          : failed.length === batch.length ? 'the function reported every message as failed'
            : !this.#mapping.reportBatchItemFailures ? 'the function reported failed messages (reportBatchItemFailures is off)' : undefined;
        if (why) {
          this.#result('PROBLEM: Function call failed');
          return { kind: 'failed', requestId: result.requestId, delays, error: thrown ?? { errorType: 'BatchItemFailures', errorMessage: why, trace: [] } };
        }
        this.#result('OK');
        return { kind: 'partial', failed, delays, requestId: result.requestId };
      } catch (err) {
        this.#mapping.counters.invocations--;
        // Cancelled by shutdown: the messages go back untouched, no attempt spent.
        if (this.#stopping) return { kind: 'stopped' };
        // Throttling is no failure: wait and try the same batch again without spending an attempt.
        if (isIsletError(err, 'TooManyRequests')) {
          this.#result('PROBLEM: Function throttled');
          await this.#sleep(Number(err.headers['Retry-After'] ?? 1) * 1000 || 1000);
        } else if (isIsletError(err, 'FunctionNotFound')) {
          this.#result('PROBLEM: Function not found');
          await this.#sleep(FUNCTION_MISSING_RETRY_MS);
        } else if (isIsletError(err, 'ShuttingDown')) {
          return { kind: 'stopped' };
        } else {
          this.#result('PROBLEM: Function call failed');
          this.#deps.log.error({ err }, 'event source invocation threw');
          return { kind: 'failed', error: { errorType: 'InternalError', errorMessage: 'the invocation could not run', trace: [] } };
        }
      }
    }
  }

  /** Failed messages: retry (nak with backoff, or in place when ordered) until attempts or age run out. */
  async #fail(batch: Held[], error: FunctionErrorInfo | undefined, requestId: string | undefined, delays = new Map<string, number>()): Promise<void> {
    const exhausted = batch.filter((h) => this.#exhausted(h) || this.#tooOld(h));
    const retry = batch.filter((h) => !exhausted.includes(h));
    if (this.#mapping.ordered) {
      if (exhausted.length > 0) {
        // Ordered: the whole remaining group shares the fate of its head, so order is never broken.
        await this.#giveUp(batch, this.#tooOld(batch[0]!) ? 'RecordAgeExceeded' : 'RetryAttemptsExhausted', error, requestId);
        return;
      }
      const delayMs = delays.get(batch[0]!.item.id) ?? this.#backoffMs(batch[0]!);
      await this.#sleep(delayMs);
      if (this.#stopping) { for (const h of batch) this.#settle(h, 'nak'); return; }
      for (const h of batch) h.localRetries++;
      await this.#process(batch);
      return;
    }
    for (const h of retry) this.#settle(h, 'nak', delays.get(h.item.id) ?? this.#backoffMs(h));
    if (exhausted.length > 0) {
      const aged = exhausted.filter((h) => this.#tooOld(h));
      const spent = exhausted.filter((h) => !aged.includes(h));
      if (aged.length > 0) await this.#giveUp(aged, 'RecordAgeExceeded', error, requestId);
      if (spent.length > 0) await this.#giveUp(spent, 'RetryAttemptsExhausted', error, requestId);
    }
  }

  async #giveUp(batch: Held[], condition: FailureCondition, error?: FunctionErrorInfo, requestId?: string): Promise<void> {
    const failed: FailedBatch = {
      condition,
      messages: batch.map((h) => ({ ...h.item, attempts: h.item.attempts + h.localRetries })),
      attempts: Math.max(...batch.map((h) => h.item.attempts + h.localRetries)),
      ...(error ? { error } : {}),
      ...(requestId ? { requestId } : {}),
    };
    try {
      await this.#deps.sendFailure(this.#mapping, failed);
    } catch (err) {
      // Never drop: leave the messages in JetStream and try again later.
      this.#deps.log.error({ err, condition }, 'could not store failed event-source messages; will retry');
      for (const h of batch) this.#settle(h, 'nak', this.#deps.timing.retryMaxDelayMs);
      return;
    }
    for (const h of batch) this.#settle(h, 'ack');
    this.#mapping.counters.failed += batch.length;
    this.#deps.onProgress();
  }

  #succeed(batch: Held[]): void {
    for (const h of batch) this.#settle(h, 'ack');
    this.#mapping.counters.processed += batch.length;
    this.#deps.onProgress();
  }

  #settle(h: Held, how: 'ack' | 'nak', delayMs?: number): void {
    this.#held.delete(h);
    if (how === 'ack') h.msg.ack();
    else h.msg.nak(delayMs);
  }

  #exhausted(h: Held): boolean {
    const max = this.#mapping.maxRetryAttempts;
    return max >= 0 && h.item.attempts + h.localRetries >= max + 1;
  }

  #tooOld(h: Held): boolean {
    const maxAge = this.#mapping.maxRecordAgeSeconds;
    return maxAge > 0 && Date.now() - Date.parse(h.item.timestamp) > maxAge * 1000;
  }

  #backoffMs(h: Held): number {
    const { retryBaseDelayMs, retryMaxDelayMs } = this.#deps.timing;
    const attempts = h.item.attempts + h.localRetries;
    return Math.min(retryMaxDelayMs, retryBaseDelayMs * 2 ** Math.min(30, attempts - 1));
  }

  #result(text: string): void {
    if (this.#mapping.lastProcessingResult === text) return;
    this.#mapping.lastProcessingResult = text;
    this.#deps.onProgress();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#abort.signal.aborted) { resolve(); return; }
      const timer = setTimeout(done, ms);
      function done() { resolve(); }
      this.#abort.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }
}

/** Messages the consumer may have unacknowledged: enough to keep every batch slot full plus one batch forming. */
export function consumerMaxAckPending(mapping: Pick<EventSourceMapping, 'batchSize' | 'maxConcurrency' | 'ordered'>): number {
  return mapping.ordered ? mapping.batchSize : mapping.batchSize * (mapping.maxConcurrency + 1);
}

/** Builds the handler-facing view of a JetStream message. */
export function toBatchMessage(msg: JsMsg): BatchMessage {
  const headers: Record<string, string[]> = {};
  let msgId: string | undefined;
  if (msg.headers) {
    for (const key of msg.headers.keys()) headers[key] = msg.headers.values(key);
    msgId = msg.headers.get('Nats-Msg-Id') || undefined;
  }
  return {
    id: msgId ?? `${msg.info.stream}:${msg.seq}`,
    subject: msg.subject,
    body: msg.string(),
    headers,
    timestamp: msg.time.toISOString(),
    sequence: msg.seq,
    attempts: msg.info.deliveryCount,
  };
}

function approxBytes(item: BatchMessage): number {
  let bytes = Buffer.byteLength(item.body) + item.subject.length + item.id.length + 128;
  for (const [k, vs] of Object.entries(item.headers)) for (const v of vs) bytes += k.length + v.length + 8;
  return bytes;
}
