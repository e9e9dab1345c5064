import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { buildInvocationRecord, fitRecord, type InvocationRecord } from '../destinations.ts';
import type { BatchMessage } from '../../invoke/types.ts';
import { DLQ_STREAM, DLQ_SUBJECT_PREFIX } from '../async/jetstream.ts';
import type { EventSourceMapping } from './types.ts';
import { deadLetterSubject } from './types.ts';
import type { FailedBatch } from './worker.ts';

/** Where a failed batch came from; added to the invocation record (like Lambda's KinesisBatchInfo). */
export interface BatchInfo {
  mappingId: string;
  stream: string;
  subject?: string;
  firstSequence: number;
  lastSequence: number;
  batchSize: number;
  approximateArrivalOfFirstRecord: string;
  approximateArrivalOfLastRecord: string;
}

/** The async invocation record (src/events/destinations.ts) plus `batchInfo`; requestPayload is `{messages}`. */
export type EventSourceFailureRecord = Omit<InvocationRecord, 'requestPayload'> & { requestPayload: { messages: BatchMessage[] }; batchInfo: BatchInfo };

/** Room for the record envelope and headers around the messages. */
const RECORD_OVERHEAD_BYTES = 8 * 1024;

/** Builds the record sent to the on-failure destination or the dead-letter stream. */
export function failureRecord(mapping: EventSourceMapping, failed: FailedBatch, now = new Date()): EventSourceFailureRecord {
  const first = failed.messages[0]!;
  const last = failed.messages[failed.messages.length - 1]!;
  const record = buildInvocationRecord({
    requestId: failed.requestId ?? randomUUID(),
    functionName: mapping.function,
    condition: failed.condition,
    invokeCount: failed.attempts,
    requestPayload: { messages: failed.messages },
    ...(failed.error ? { error: failed.error } : {}),
    now,
  });
  return {
    ...record,
    requestPayload: { messages: failed.messages },
    batchInfo: {
      mappingId: mapping.id,
      stream: mapping.stream,
      ...('subject' in mapping.source ? { subject: mapping.source.subject } : {}),
      firstSequence: Math.min(...failed.messages.map((m) => m.sequence)),
      lastSequence: Math.max(...failed.messages.map((m) => m.sequence)),
      batchSize: failed.messages.length,
      approximateArrivalOfFirstRecord: first.timestamp,
      approximateArrivalOfLastRecord: last.timestamp,
    },
  };
}

/**
 * Splits a failed group so that each record fits in one NATS message of `maxBytes`: the
 * messages' content is kept rather than truncated (only a single oversized message is).
 */
export function splitForRecords(failed: FailedBatch, maxBytes: number): FailedBatch[] {
  const budget = Math.max(1, maxBytes - RECORD_OVERHEAD_BYTES);
  const parts: FailedBatch[] = [];
  let current: BatchMessage[] = [];
  let bytes = 0;
  for (const message of failed.messages) {
    const size = Buffer.byteLength(JSON.stringify(message));
    if (current.length > 0 && bytes + size > budget) {
      parts.push({ ...failed, messages: current });
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) parts.push({ ...failed, messages: current });
  return parts;
}

/** An id that makes a re-sent record a duplicate in JetStream (Nats-Msg-Id) and for webhooks. */
export function failureDedupId(record: EventSourceFailureRecord): string {
  const b = record.batchInfo;
  return `esm-${b.mappingId}-${b.firstSequence}-${b.lastSequence}-${b.batchSize}-${record.requestContext.approximateInvokeCount}`;
}

/** Makes sure the dead-letter stream exists (it may exist already, e.g. made by the async queue). */
export async function ensureDeadLetterStream(jsm: JetStreamManager): Promise<void> {
  try {
    await jsm.streams.info(DLQ_STREAM);
  } catch {
    try {
      await jsm.streams.add({ name: DLQ_STREAM, subjects: [`${DLQ_SUBJECT_PREFIX}>`] });
    } catch (err) {
      // Another part may have created it between the two calls.
      await jsm.streams.info(DLQ_STREAM).catch(() => { throw err; });
    }
  }
}

/** Stores a record in the dead-letter stream (`islet.dlq.<function>.esm.<mappingId>`); resolves once JetStream has it. */
export async function publishDeadLetter(js: JetStreamClient, record: EventSourceFailureRecord, maxBytes: number): Promise<void> {
  const h = natsHeaders();
  h.set('Content-Type', 'application/json');
  h.set('Islet-Source', 'event-source');
  h.set('Islet-Mapping-Id', record.batchInfo.mappingId);
  h.set('Islet-Condition', record.requestContext.condition);
  const body = fitRecord(record, maxBytes - 4 * 1024);
  await js.publish(deadLetterSubject(record.requestContext.functionName, record.batchInfo.mappingId), body, { headers: h, msgID: failureDedupId(record) });
}
