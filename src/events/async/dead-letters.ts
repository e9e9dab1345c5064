import type { MsgRequest } from '@nats-io/jetstream';
import type { FunctionErrorInfo } from '../../invoke/types.ts';
import { buildInvocationRecord, type Condition, type InvocationRecord } from '../destinations.ts';
import type { AsyncQueueCore } from './core.ts';
import { DLQ_STREAM, DLQ_SUBJECT_PREFIX } from './jetstream.ts';
import { decodeEvent, encodeEvent, recordPayload, trimError, type QueuedEvent } from './message.ts';
import { InvocationStates } from './status.ts';

/** Extra headers of a dead letter (the original event's headers and data are kept as they were). */
const DlqHeaders = {
  condition: 'Islet-Dlq-Condition',
  attempts: 'Islet-Dlq-Attempts',
  error: 'Islet-Dlq-Error',
  reason: 'Islet-Dlq-Reason',
  at: 'Islet-Dlq-At',
} as const;

/** Default and largest page of `GET /v1/functions/:name/dead-letters`. */
export const DEFAULT_DEAD_LETTER_LIMIT = 100;
export const MAX_DEAD_LETTER_LIMIT = 1_000;

/** One entry of the dead-letter list. */
export interface DeadLetter {
  /** Sequence in the ISLET_DLQ stream. */
  sequence: number;
  requestId: string;
  deadLetteredAt: string;
  reason: string;
  /** The invocation record, as a destination would have received it. */
  record: InvocationRecord;
}

/** What dead-lettering an event needs to know. */
export interface DeadLetterInfo {
  condition: Condition;
  attempts: number;
  error?: FunctionErrorInfo;
  reason: string;
  /** Sequence of the event in ISLET_ASYNC (dedup of a repeated write). */
  seq: number;
}

/** The ISLET_DLQ stream: events that failed for good with nowhere else to go. */
export class DeadLetters {
  readonly #core: () => AsyncQueueCore;

  constructor(core: () => AsyncQueueCore) {
    this.#core = core;
  }

  /** Stores a failed event (original payload + why it failed) under `islet.dlq.<fn>`. */
  async add(fn: string, event: QueuedEvent, info: DeadLetterInfo): Promise<void> {
    const { notBefore: _notBefore, lastError: _lastError, ...plain } = event;
    const { headers, data } = encodeEvent(plain);
    headers.set(DlqHeaders.condition, info.condition);
    headers.set(DlqHeaders.attempts, String(info.attempts));
    headers.set(DlqHeaders.reason, info.reason.slice(0, 500).replace(/[\r\n]+/g, ' '));
    headers.set(DlqHeaders.at, String(this.#core().now()));
    if (info.error) headers.set(DlqHeaders.error, Buffer.from(JSON.stringify(trimError(info.error))).toString('base64url'));
    await this.#core().events.js.publish(`${DLQ_SUBJECT_PREFIX}${fn}`, data, { headers, msgID: `${event.requestId}.dlq.${info.seq}` });
  }

  /** Oldest first, up to `limit`. */
  async list(fn: string, limit = DEFAULT_DEAD_LETTER_LIMIT): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for await (const entry of this.#scan(fn)) {
      if (out.length >= limit) break;
      out.push(entry.letter);
    }
    return out;
  }

  /** Moves up to `limit` dead letters back to the queue with a fresh attempt count and age; returns how many. */
  async redrive(fn: string, limit = MAX_DEAD_LETTER_LIMIT): Promise<number> {
    const core = this.#core();
    // Only the letters that exist now: a redriven event that fails again is dead-lettered under a
    // new sequence, and a forward scan would meet it and redrive it a second time.
    const { state } = await core.events.jsm.streams.info(DLQ_STREAM);
    const lastSeq = state.last_seq;
    let moved = 0;
    for await (const { seq, event } of this.#scan(fn)) {
      if (moved >= limit || seq > lastSeq) break;
      const fresh: QueuedEvent = { requestId: event.requestId, payload: event.payload, attempts: 0, enqueuedAt: core.now() };
      // Queue first, then delete: a crash in between leaves a copy in both, never in neither.
      await core.requeue(fn, fresh, `${event.requestId}.redrive.${seq}`);
      core.setStatus(fn, fresh, InvocationStates.queued, 0);
      await core.events.jsm.streams.deleteMessage(DLQ_STREAM, seq, false);
      moved++;
    }
    return moved;
  }

  /** Walks `islet.dlq.<fn>` by sequence (MSG.GET next_by_subj works on nats-server 2.9). */
  async *#scan(fn: string): AsyncGenerator<{ seq: number; event: QueuedEvent; letter: DeadLetter }> {
    const jsm = this.#core().events.jsm;
    const subject = `${DLQ_SUBJECT_PREFIX}${fn}`;
    let next = 1;
    for (;;) {
      let stored;
      try {
        // The client types leave next_by_subj out of MSG.GET; the server (2.9+) takes it.
        stored = await jsm.streams.getMessage(DLQ_STREAM, { seq: next, next_by_subj: subject } as unknown as MsgRequest);
      } catch (err) {
        if (/no message found/i.test((err as Error).message)) return;
        throw err;
      }
      if (!stored) return;
      next = stored.seq + 1;
      const h = stored.header;
      const event = decodeEvent(h, stored.data, { seq: stored.seq, publishedAtMs: stored.time.getTime() });
      const errorHeader = h.get(DlqHeaders.error);
      let error: FunctionErrorInfo | undefined;
      try { error = errorHeader ? JSON.parse(Buffer.from(errorHeader, 'base64url').toString('utf8')) as FunctionErrorInfo : undefined; } catch { error = undefined; }
      const at = Number(h.get(DlqHeaders.at)) || stored.time.getTime();
      const record = buildInvocationRecord({
        requestId: event.requestId,
        functionName: fn,
        condition: (h.get(DlqHeaders.condition) || 'RetriesExhausted') as Condition,
        invokeCount: Number(h.get(DlqHeaders.attempts)) || 0,
        requestPayload: recordPayload(event.payload),
        ...(error ? { error } : {}),
        now: new Date(at),
      });
      yield {
        seq: stored.seq,
        event,
        letter: { sequence: stored.seq, requestId: event.requestId, deadLetteredAt: new Date(at).toISOString(), reason: h.get(DlqHeaders.reason), record },
      };
    }
  }
}
