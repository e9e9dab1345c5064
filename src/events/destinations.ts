import { headers as natsHeaders } from '@nats-io/transport-node';
import { DESTINATION_HTTP_TIMEOUT_MS, DESTINATION_HTTP_TRIES, FUNCTION_NAME_PATTERN } from '../defaults.ts';
import { IsletError } from '../errors.ts';
import type { FunctionErrorInfo, InvocationResult } from '../invoke/types.ts';
import type { Logger } from '../observability/logger.ts';
import type { NatsEvents } from './connection.ts';
import type { AsyncInvoker } from './types.ts';

/** Where an invocation record goes: `nats:<subject>`, `function:<name>`, or an http(s) URL. */
export type Destination =
  | { kind: 'nats'; subject: string }
  | { kind: 'function'; name: string }
  | { kind: 'http'; url: string };

/** Why a record was sent (Lambda's `requestContext.condition`). */
export const Conditions = {
  success: 'Success', retriesExhausted: 'RetriesExhausted', eventAgeExceeded: 'EventAgeExceeded',
  // Event-source mappings (Lambda's names for stream sources).
  retryAttemptsExhausted: 'RetryAttemptsExhausted', recordAgeExceeded: 'RecordAgeExceeded',
} as const;
export type Condition = (typeof Conditions)[keyof typeof Conditions];

const SUBJECT_PATTERN = /^[^\s*>.]+(\.[^\s*>.]+)*$/;

/** Parses a destination string or throws InvalidConfig saying what is wrong. */
export function parseDestination(value: string): Destination {
  if (value.startsWith('nats:')) {
    const subject = value.slice(5);
    if (!SUBJECT_PATTERN.test(subject) || subject.length > 255) throw new IsletError('InvalidConfig', `destination ${JSON.stringify(value)}: nats:<subject> needs a literal subject (no wildcards, no spaces)`);
    if (subject.startsWith('$') || subject.startsWith('islet.')) throw new IsletError('InvalidConfig', `destination ${JSON.stringify(value)}: subjects starting with '$' or 'islet.' are reserved`);
    return { kind: 'nats', subject };
  }
  if (value.startsWith('function:')) {
    const name = value.slice(9);
    if (!FUNCTION_NAME_PATTERN.test(name)) throw new IsletError('InvalidConfig', `destination ${JSON.stringify(value)}: function:<name> needs a valid function name`);
    return { kind: 'function', name };
  }
  if (value.startsWith('http://') || value.startsWith('https://')) {
    try {
      return { kind: 'http', url: new URL(value).href };
    } catch {
      throw new IsletError('InvalidConfig', `destination ${JSON.stringify(value)}: not a valid URL`);
    }
  }
  throw new IsletError('InvalidConfig', `destination ${JSON.stringify(value.slice(0, 100))}: use nats:<subject>, function:<name> or an http(s):// URL`);
}

/** Lambda's asynchronous invocation record, field for field (plus `functionName`). */
export interface InvocationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    functionName: string;
    condition: Condition;
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext: {
    statusCode: number;
    executedVersion: string;
    functionError?: 'Unhandled';
  };
  responsePayload: unknown;
}

/** What {@link buildInvocationRecord} needs. */
export interface RecordInput {
  requestId: string;
  functionName: string;
  condition: Condition;
  /** Invocations that ran (attempts). */
  invokeCount: number;
  /** The event as the function got it (parsed JSON for events). */
  requestPayload: unknown;
  /** The last result, when the function ran at all. */
  result?: InvocationResult;
  /** The last error when there is no result (e.g. an event that expired after failed attempts). */
  error?: FunctionErrorInfo;
  version?: string;
  now?: Date;
}

/** An ARN-like qualifier, as Lambda puts in `functionArn`. */
export function functionArn(name: string, version = '$LATEST'): string {
  return `arn:islet:function:${name}:${version}`;
}

/** Lambda's error body: `{errorMessage, errorType, stackTrace}`. */
export function errorPayload(error: FunctionErrorInfo): { errorMessage: string; errorType: string; stackTrace: string[] } {
  return { errorMessage: error.errorMessage, errorType: error.errorType, stackTrace: error.trace };
}

/** Builds the invocation record sent to onSuccess/onFailure destinations and kept with dead letters. */
export function buildInvocationRecord(input: RecordInput): InvocationRecord {
  const version = input.result?.report.version ?? input.version ?? '$LATEST';
  const error = input.result?.error ?? (input.result === undefined ? input.error : undefined);
  let responsePayload: unknown = null;
  if (input.result?.outcome === 'success') responsePayload = resultPayload(input.result);
  else if (error) responsePayload = errorPayload(error);
  return {
    version: '1.0',
    timestamp: (input.now ?? new Date()).toISOString(),
    requestContext: {
      requestId: input.requestId,
      functionArn: functionArn(input.functionName, version),
      functionName: input.functionName,
      condition: input.condition,
      approximateInvokeCount: input.invokeCount,
    },
    requestPayload: input.requestPayload,
    responseContext: {
      statusCode: 200,
      executedVersion: version,
      ...(error && input.condition !== Conditions.success ? { functionError: 'Unhandled' as const } : {}),
    },
    responsePayload,
  };
}

function resultPayload(result: InvocationResult): unknown {
  const value = result.value;
  if (!value) return null;
  if (value.kind === 'event') {
    try { return JSON.parse(value.json); } catch { return value.json; }
  }
  if (value.kind === 'http') {
    return { statusCode: value.status, headers: Object.fromEntries(value.headers), body: new TextDecoder().decode(value.body) };
  }
  return { batchItemFailures: value.failures.map((f) => ({ itemIdentifier: f.id })) };
}

/**
 * Keeps a record under `maxBytes` of JSON: replaces the response payload, then the request
 * payload, with a `{truncated, bytes}` marker (NATS max_payload is 1 MB by default).
 */
export function fitRecord(record: InvocationRecord, maxBytes: number): string {
  let json = JSON.stringify(record);
  if (Buffer.byteLength(json) <= maxBytes) return json;
  const slim = { ...record, responsePayload: { truncated: true, bytes: Buffer.byteLength(JSON.stringify(record.responsePayload) ?? '') } };
  json = JSON.stringify(slim);
  if (Buffer.byteLength(json) <= maxBytes) return json;
  return JSON.stringify({ ...slim, requestPayload: { truncated: true, bytes: Buffer.byteLength(JSON.stringify(record.requestPayload) ?? '') } });
}

/** What delivering a record needs. */
export interface DestinationDeps {
  events: NatsEvents;
  /** Queue for `function:<name>` destinations. */
  asyncInvoker?: AsyncInvoker;
  log: Logger;
  /** Cap for records enqueued to a function (ISLET_MAX_EVENT_BYTES). */
  maxEventBytes: number;
  /** @default DESTINATION_HTTP_TIMEOUT_MS */
  httpTimeoutMs?: number;
  /** @default DESTINATION_HTTP_TRIES */
  httpTries?: number;
  /**
   * After a plain (non-JetStream) publish, skip the PING/PONG round trip that confirms the
   * server has it. Safe for a caller that then acknowledges its event on the same connection:
   * NATS keeps one connection's messages in order, so the server sees the record before the
   * ack. @default false
   */
  orderedBeforeAck?: boolean;
}

/** Room left in a NATS message for headers. */
const HEADER_ROOM_BYTES = 4 * 1024;
/** How long "is this subject in a stream?" answers are reused. */
const STREAM_LOOKUP_TTL_MS = 30_000;
const streamLookups = new WeakMap<NatsEvents, Map<string, { stream: string | null; at: number }>>();

async function streamFor(events: NatsEvents, subject: string): Promise<string | null> {
  let cache = streamLookups.get(events);
  if (!cache) streamLookups.set(events, cache = new Map());
  const hit = cache.get(subject);
  if (hit && Date.now() - hit.at < STREAM_LOOKUP_TTL_MS) return hit.stream;
  let stream: string | null = null;
  try {
    stream = await events.jsm.streams.find(subject);
  } catch (err) {
    if (!/no stream matches subject/i.test((err as Error).message)) throw err;
  }
  cache.set(subject, { stream, at: Date.now() });
  return stream;
}

/**
 * Delivers a record to a destination, retrying where that makes sense. Resolves once it is
 * stored (JetStream ack, function queue ack, or a 2xx from the webhook); throws otherwise.
 * `dedupId` makes a redelivered record a duplicate rather than a second copy where possible.
 */
export async function deliverRecord(destination: string | Destination, record: InvocationRecord, deps: DestinationDeps, dedupId: string): Promise<void> {
  const dest = typeof destination === 'string' ? parseDestination(destination) : destination;
  if (dest.kind === 'nats') {
    const maxPayload = deps.events.nc.info?.max_payload ?? 1024 * 1024;
    const body = fitRecord(record, maxPayload - HEADER_ROOM_BYTES);
    const stream = await streamFor(deps.events, dest.subject);
    const h = natsHeaders();
    h.set('Content-Type', 'application/json');
    h.set('Islet-Request-Id', record.requestContext.requestId);
    h.set('Islet-Condition', record.requestContext.condition);
    if (stream) {
      // A stream covers the subject: publish through JetStream so the record is stored.
      await deps.events.js.publish(dest.subject, body, { msgID: dedupId, headers: h });
    } else {
      deps.events.nc.publish(dest.subject, body, { headers: h });
      if (deps.orderedBeforeAck !== true) await deps.events.nc.flush();
    }
    return;
  }
  if (dest.kind === 'function') {
    if (!deps.asyncInvoker) throw new IsletError('EventsUnavailable', 'function destinations need the async queue');
    const json = fitRecord(record, deps.maxEventBytes);
    await deps.asyncInvoker.enqueue(dest.name, { kind: 'event', json }, { idempotencyKey: dedupId });
    return;
  }
  await postWebhook(dest.url, JSON.stringify(record), deps, dedupId);
}

async function postWebhook(url: string, body: string, deps: DestinationDeps, dedupId: string): Promise<void> {
  const tries = deps.httpTries ?? DESTINATION_HTTP_TRIES;
  let lastError: unknown;
  for (let attempt = 1; attempt <= tries; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': dedupId, 'user-agent': 'islet-destination' },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(deps.httpTimeoutMs ?? DESTINATION_HTTP_TIMEOUT_MS),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return;
      lastError = new Error(`webhook answered ${res.status}`);
      // A 4xx other than 408/429 will not get better by retrying.
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) break;
    } catch (err) {
      lastError = err;
    }
    if (attempt < tries) await new Promise((r) => setTimeout(r, 200 * 4 ** (attempt - 1)));
  }
  deps.log.warn({ url: new URL(url).origin, err: (lastError as Error)?.message }, 'webhook destination failed');
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
