import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { ASYNC_ACK_WAIT_MS, ASYNC_THROTTLE_DELAY_MS } from '../../defaults.ts';
import { isIsletError } from '../../errors.ts';
import type { FunctionErrorInfo, InvocationResult } from '../../invoke/types.ts';
import type { Logger } from '../../observability/logger.ts';
import { buildInvocationRecord, Conditions, deliverRecord, type Condition } from '../destinations.ts';
import { retryDelayMs } from './backoff.ts';
import type { AsyncQueueCore } from './core.ts';
import { ASYNC_STREAM, consumerName, ensureConsumer } from './jetstream.ts';
import { decodeEvent, recordPayload, type QueuedEvent } from './message.ts';
import { InvocationStates } from './status.ts';

/** Long-poll time of one pull request. */
const FETCH_EXPIRES_MS = 5_000;
/** Pause after a failed pull (NATS down, consumer missing) before the next. */
const FETCH_ERROR_PAUSE_MS = 1_000;
/** Keep the lease: JetStream redelivers after ack_wait unless told the event is still in work. */
const HEARTBEAT_MS = Math.floor(ASYNC_ACK_WAIT_MS / 3);

/**
 * Pulls one function's events from its durable consumer and runs them, at most `concurrency`
 * at a time. Every event ends acked (succeeded / delivered / dead-lettered / re-queued for a
 * retry) or nak'd (throttled, shutdown) — never acked before its outcome is stored.
 */
export class FunctionWorker {
  readonly fn: string;
  readonly #core: AsyncQueueCore;
  readonly #log: Logger;
  #concurrency: number;
  #inFlight = 0;
  #pausedUntil = 0;
  #stopped = false;
  #fetch: ConsumerMessages | undefined;
  #slotFreed: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  readonly #running = new Set<Promise<void>>();
  readonly #abort = new AbortController();

  constructor(fn: string, concurrency: number, core: AsyncQueueCore) {
    this.fn = fn;
    this.#concurrency = Math.max(1, concurrency);
    this.#core = core;
    this.#log = core.log.child({ fn });
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  set concurrency(n: number) {
    this.#concurrency = Math.max(1, n);
    this.#slotFreed?.();
  }

  async #run(): Promise<void> {
    let consumer: Consumer | undefined;
    while (!this.#stopped) {
      try {
        if (!this.#core.events.available()) throw new Error('NATS is not connected');
        if (!consumer) {
          await ensureConsumer(this.#core.events.jsm, this.fn);
          consumer = await this.#core.events.js.consumers.get(ASYNC_STREAM, consumerName(this.fn));
        }
        const pause = this.#pausedUntil - Date.now();
        if (pause > 0) {
          await new Promise((r) => setTimeout(r, Math.min(pause, FETCH_ERROR_PAUSE_MS)));
          continue;
        }
        const free = this.#concurrency - this.#inFlight;
        if (free <= 0) {
          await new Promise<void>((resolve) => { this.#slotFreed = resolve; });
          continue;
        }
        this.#fetch = await consumer.fetch({ max_messages: free, expires: FETCH_EXPIRES_MS });
        for await (const msg of this.#fetch) {
          if (this.#stopped) { msg.nak(); continue; }
          this.#track(this.#handle(msg));
        }
      } catch (err) {
        if (this.#stopped) break;
        if (/consumer not found|consumer deleted/i.test((err as Error).message)) consumer = undefined;
        this.#log.debug({ err: (err as Error).message }, 'async pull failed; retrying');
        await new Promise((r) => setTimeout(r, FETCH_ERROR_PAUSE_MS));
      } finally {
        this.#fetch = undefined;
      }
    }
  }

  #track(work: Promise<void>): void {
    this.#inFlight++;
    const done = work.catch((err) => this.#log.error({ err }, 'async event handling failed')).finally(() => {
      this.#inFlight--;
      this.#running.delete(done);
      const wake = this.#slotFreed;
      this.#slotFreed = undefined;
      wake?.();
    });
    this.#running.add(done);
  }

  async #handle(msg: JsMsg): Promise<void> {
    const core = this.#core;
    const event = decodeEvent(msg.headers, msg.data, { seq: msg.seq, publishedAtMs: Math.floor(msg.info.timestampNanos / 1e6) });
    core.metrics.asyncQueueDepth(this.fn, msg.info.pending);
    const config = await core.configs.get(this.fn);
    const now = core.now();
    const expiresAt = event.enqueuedAt + config.maxEventAgeSeconds * 1000;

    if (event.notBefore !== undefined && event.notBefore > now && expiresAt > now) {
      // Retry backoff: wait in JetStream, no attempt spent.
      msg.nak(Math.min(event.notBefore, expiresAt) - now);
      return;
    }
    if (now >= expiresAt) {
      await this.#finish(msg, event, Conditions.eventAgeExceeded, event.attempts, undefined, event.lastError);
      return;
    }

    let spent = event.attempts;
    if (msg.info.deliveryCount > 1) {
      // A run that was cut off (process killed) counts as an attempt, like Lambda: a poison
      // event that kills the process cannot loop forever.
      const known = await core.status?.get(event.requestId).catch(() => undefined);
      if (known?.state === InvocationStates.running && known.attempts > spent) spent = known.attempts;
    }
    if (spent > config.maxRetryAttempts) {
      // Every allowed attempt was spent, the last one cut off before it could finish.
      const error = event.lastError ?? { errorType: 'Islet.Interrupted', errorMessage: 'the last attempt was cut off (the process stopped while it ran)', trace: [] };
      await this.#finish(msg, event, Conditions.retriesExhausted, spent, undefined, error);
      return;
    }
    const attempt = spent + 1;
    core.metrics.asyncEventAge(this.fn, now - event.enqueuedAt);
    core.setStatus(this.fn, event, InvocationStates.running, attempt);

    const heartbeat = setInterval(() => msg.working(), HEARTBEAT_MS);
    let result: InvocationResult | undefined;
    let error: FunctionErrorInfo | undefined;
    try {
      result = await core.invoker.invoke(this.fn, event.payload, { trigger: 'async', requestId: event.requestId, attempt, signal: this.#abort.signal });
      if (this.#abort.signal.aborted) {
        // Cut off by shutdown: not the function's fault, so no attempt is spent.
        clearInterval(heartbeat);
        core.setStatus(this.fn, event, InvocationStates.queued, spent);
        msg.nak();
        return;
      }
      if (result.outcome !== 'success') error = result.error ?? { errorType: result.outcome, errorMessage: `invocation ended with ${result.outcome}`, trace: [] };
    } catch (err) {
      if (isIsletError(err, 'TooManyRequests')) {
        clearInterval(heartbeat);
        // Throttled: back to the queue without spending an attempt.
        core.setStatus(this.fn, event, InvocationStates.queued, spent);
        const retryAfterS = Number(err.headers['Retry-After'] ?? err.headers['retry-after']);
        const delay = Number.isFinite(retryAfterS) && retryAfterS > 0 ? retryAfterS * 1000 : ASYNC_THROTTLE_DELAY_MS;
        msg.nak(Math.round(delay * (0.75 + Math.random() * 0.5)));
        // Back off pulling too: a throttled backlog should not spin through JetStream.
        this.#pausedUntil = Date.now() + delay;
        this.#fetch?.stop();
        return;
      }
      if (isIsletError(err, 'ShuttingDown') || this.#abort.signal.aborted) {
        clearInterval(heartbeat);
        core.setStatus(this.fn, event, InvocationStates.queued, spent);
        msg.nak();
        return;
      }
      this.#log.warn({ err, requestId: event.requestId }, 'async invocation could not run');
      error = { errorType: isIsletError(err) ? err.code : 'InternalError', errorMessage: (err as Error).message, trace: [] };
      if (isIsletError(err, 'FunctionNotFound')) {
        clearInterval(heartbeat);
        await this.#finish(msg, event, Conditions.retriesExhausted, attempt, undefined, error);
        return;
      }
    }
    try {
      if (!error) {
        await this.#finish(msg, event, Conditions.success, attempt, result);
      } else if (attempt <= config.maxRetryAttempts) {
        const delay = retryDelayMs(attempt, config.retryBackoff);
        const retry: QueuedEvent = { ...event, attempts: attempt, notBefore: core.now() + delay, lastError: error };
        // Store the retry before acking this copy: a crash in between runs it twice, never zero
        // times. The id names this copy (stream seq), so a redelivery of it is deduplicated but
        // a later copy (after a redrive) is not.
        await core.requeue(this.fn, retry, `${event.requestId}.retry.${attempt}.${msg.seq}`);
        core.setStatus(this.fn, retry, InvocationStates.retrying, attempt, `${error.errorType}: ${error.errorMessage}`);
        msg.ack();
      } else {
        await this.#finish(msg, event, Conditions.retriesExhausted, attempt, result, error);
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Sends the record to its destination (or the DLQ), records the final state, then acks. */
  async #finish(msg: JsMsg, event: QueuedEvent, condition: Condition, attempts: number, result?: InvocationResult, error?: FunctionErrorInfo): Promise<void> {
    const core = this.#core;
    const config = await core.configs.get(this.fn);
    const record = buildInvocationRecord({
      requestId: event.requestId, functionName: this.fn, condition, invokeCount: attempts,
      requestPayload: recordPayload(event.payload), ...(result ? { result } : {}), ...(error ? { error } : {}), now: new Date(core.now()),
    });
    const destination = condition === Conditions.success ? config.onSuccess : config.onFailure;
    const heartbeat = setInterval(() => msg.working(), HEARTBEAT_MS);
    try {
      let deadLetterReason: string | undefined;
      if (destination) {
        try {
          await deliverRecord(destination, record, core.destinationDeps, `${event.requestId}.${condition}.${msg.seq}`);
        } catch (err) {
          core.metrics.destinationFailed(destination.split(':')[0]!.replace(/^https$/, 'http'));
          this.#log.error({ err: (err as Error).message, requestId: event.requestId, destination }, 'destination delivery failed; dead-lettering the event');
          deadLetterReason = `${condition === Conditions.success ? 'onSuccess' : 'onFailure'} delivery failed: ${(err as Error).message}`;
        }
      } else if (condition !== Conditions.success) {
        deadLetterReason = 'no onFailure destination';
      }
      const lastError = error ? `${error.errorType}: ${error.errorMessage}` : undefined;
      if (deadLetterReason !== undefined) {
        try {
          await core.deadLetters.add(this.fn, event, { condition, attempts, error, reason: deadLetterReason, seq: msg.seq });
        } catch (err) {
          // Nowhere to put it: leave it in the queue, JetStream offers it again later.
          this.#log.error({ err: (err as Error).message, requestId: event.requestId }, 'dead-letter write failed; event stays queued');
          msg.nak(FETCH_ERROR_PAUSE_MS * 5);
          return;
        }
        core.metrics.eventDeadLettered(this.fn);
        core.setStatus(this.fn, event, InvocationStates.deadLettered, attempts, lastError ?? deadLetterReason);
      } else {
        core.setStatus(this.fn, event, condition === Conditions.success ? InvocationStates.succeeded : InvocationStates.failed, attempts, lastError);
      }
      msg.ack();
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Stops pulling, lets running events finish for `graceMs`, then aborts them (they are nak'd). */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true;
    this.#fetch?.stop();
    this.#slotFreed?.();
    const all = Promise.allSettled([...this.#running]);
    const timer = setTimeout(() => this.#abort.abort(), graceMs);
    await all;
    clearTimeout(timer);
    await this.#loop;
  }
}
