import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { EventPayload, FunctionErrorInfo, HttpPayload } from '../../invoke/types.ts';

/** Header names of a queued event. The event's state travels with it, so any node can pick it up. */
export const AsyncHeaders = {
  requestId: 'Islet-Request-Id',
  /** Epoch ms of the first enqueue (kept across retries: the event's age). */
  enqueuedAt: 'Islet-Enqueued-At',
  /** Attempts spent so far. */
  attempts: 'Islet-Attempts',
  /** Epoch ms before which the event must not run (retry backoff). */
  notBefore: 'Islet-Not-Before',
  kind: 'Islet-Kind',
  /** base64url JSON of the HttpPayload without its body (the body is the message data). */
  http: 'Islet-Http',
  /** base64url JSON of the last FunctionErrorInfo. */
  lastError: 'Islet-Last-Error',
} as const;

/** A queued event, decoded. */
export interface QueuedEvent {
  requestId: string;
  enqueuedAt: number;
  attempts: number;
  notBefore?: number;
  payload: EventPayload | HttpPayload;
  lastError?: FunctionErrorInfo;
}

/** Errors kept in headers are cut to this many bytes of JSON. */
const MAX_ERROR_HEADER_BYTES = 4 * 1024;

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function unb64<T>(value: string): T | undefined {
  try { return JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as T; } catch { return undefined; }
}

/** Shortens an error so it fits a header. */
export function trimError(error: FunctionErrorInfo): FunctionErrorInfo {
  const trimmed = { errorType: error.errorType.slice(0, 200), errorMessage: error.errorMessage.slice(0, 2_000), trace: error.trace.slice(0, 20).map((l) => l.slice(0, 200)) };
  while (JSON.stringify(trimmed).length > MAX_ERROR_HEADER_BYTES && trimmed.trace.length > 0) trimmed.trace.pop();
  return trimmed;
}

/** The message body: the event JSON text, or the raw HTTP body. */
export function payloadData(payload: EventPayload | HttpPayload): Uint8Array {
  if (payload.kind === 'event') return new TextEncoder().encode(payload.json);
  return payload.body ?? new Uint8Array(0);
}

/** Encodes an event into headers + data for `islet.async.<fn>`. */
export function encodeEvent(event: QueuedEvent): { headers: MsgHdrs; data: Uint8Array } {
  const h = natsHeaders();
  h.set(AsyncHeaders.requestId, event.requestId);
  h.set(AsyncHeaders.enqueuedAt, String(event.enqueuedAt));
  h.set(AsyncHeaders.attempts, String(event.attempts));
  h.set(AsyncHeaders.kind, event.payload.kind);
  if (event.notBefore !== undefined) h.set(AsyncHeaders.notBefore, String(event.notBefore));
  if (event.payload.kind === 'http') {
    const { body: _body, ...meta } = event.payload;
    h.set(AsyncHeaders.http, b64(meta));
  }
  if (event.lastError) h.set(AsyncHeaders.lastError, b64(trimError(event.lastError)));
  return { headers: h, data: payloadData(event.payload) };
}

/**
 * Decodes a queued event. Messages published straight to `islet.async.<fn>` by other clients
 * work too: a missing request id becomes `nats-<stream seq>`, the age comes from the publish time.
 */
export function decodeEvent(h: MsgHdrs | undefined, data: Uint8Array, fallback: { seq: number; publishedAtMs: number }): QueuedEvent {
  const get = (name: string) => h?.get(name) || undefined;
  const num = (name: string) => {
    const n = Number(get(name));
    return Number.isFinite(n) && get(name) !== undefined ? n : undefined;
  };
  const meta = get(AsyncHeaders.kind) === 'http' ? unb64<Omit<HttpPayload, 'body'>>(get(AsyncHeaders.http) ?? '') : undefined;
  const payload: EventPayload | HttpPayload = meta
    ? { ...meta, kind: 'http', body: data.byteLength > 0 ? data : null }
    : { kind: 'event', json: eventJson(data) };
  const lastError = get(AsyncHeaders.lastError);
  const notBefore = num(AsyncHeaders.notBefore);
  return {
    requestId: get(AsyncHeaders.requestId)?.slice(0, 128) ?? `nats-${fallback.seq}`,
    enqueuedAt: num(AsyncHeaders.enqueuedAt) ?? fallback.publishedAtMs,
    attempts: Math.max(0, Math.floor(num(AsyncHeaders.attempts) ?? 0)),
    payload,
    ...(notBefore !== undefined ? { notBefore } : {}),
    ...(lastError ? { lastError: unb64<FunctionErrorInfo>(lastError) } : {}),
  } as QueuedEvent;
}

/** Event text for the handler: valid JSON stays; anything else becomes a JSON string. */
function eventJson(data: Uint8Array): string {
  const text = new TextDecoder().decode(data);
  if (text.length === 0) return 'null';
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify(text);
  }
}

/** The request payload as a destination record shows it. */
export function recordPayload(payload: EventPayload | HttpPayload): unknown {
  if (payload.kind === 'event') {
    try { return JSON.parse(payload.json); } catch { return payload.json; }
  }
  const { body, ...meta } = payload;
  return { ...meta, headers: Object.fromEntries(meta.headers), body: body ? Buffer.from(body).toString('base64') : null, isBase64Encoded: true };
}
