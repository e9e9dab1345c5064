import type { HandlerShape } from '../registry/types.ts';
import { fromLambdaBatchResult, fromLambdaHttpResult, toLambdaBatchEvent, toLambdaHttpEvent } from './lambda.ts';
import type { FunctionErrorInfo, InvocationPayload, InvocationValue } from './types.ts';

/**
 * Most bytes of response headers (names + values) a function may return: far above what proxies
 * accept (often 8–64 KiB), low enough that no function floods the HTTP layer with headers.
 */
export const MAX_RESPONSE_HEADER_BYTES = 256 * 1024;

/** The URL an edge-style handler sees for a direct (non-HTTP) event invocation. */
export const EVENT_REQUEST_URL = 'http://localhost/';

/** What the isolate's bootstrap receives for one invocation (copied in as plain data). */
export interface IsolateInput {
  kind: InvocationPayload['kind'];
  requestId: string;
  deadline: number;
  maxResponseBytes: number;
  [key: string]: unknown;
}

/**
 * Turns a payload into the data the in-isolate dispatcher needs for the handler shape:
 * Lambda events are built here; edge requests and batches are rebuilt as Web objects inside.
 */
export function toIsolateInput(shape: HandlerShape, payload: InvocationPayload,
  base: { requestId: string; deadline: number; maxResponseBytes: number }): IsolateInput {
  switch (payload.kind) {
    case 'http':
      if (shape === 'lambda') return { ...base, kind: 'http', event: toLambdaHttpEvent(payload, base.requestId) };
      return {
        ...base,
        kind: 'http',
        request: { url: payload.url, method: payload.method.toUpperCase(), headers: payload.headers, body: exact(payload.body) },
      };
    case 'event':
      if (shape === 'lambda') return { ...base, kind: 'event', json: payload.json };
      return {
        ...base,
        kind: 'event',
        request: {
          url: EVENT_REQUEST_URL,
          method: 'POST',
          headers: [['content-type', 'application/json']],
          body: new TextEncoder().encode(payload.json),
        },
      };
    case 'batch':
      if (shape === 'lambda') return { ...base, kind: 'batch', event: toLambdaBatchEvent(payload) };
      return {
        ...base,
        kind: 'batch',
        queue: payload.source.stream ?? payload.source.subject ?? payload.source.mappingId,
        messages: payload.messages.map((m) => ({ id: m.id, subject: m.subject, body: m.body, headers: m.headers, timestamp: m.timestamp, attempts: m.attempts })),
      };
  }
}

/** Maps what the dispatcher answered to the invocation's value, or a function error. */
export function fromIsolateOutput(shape: HandlerShape, payload: InvocationPayload, value: unknown,
  maxResponseBytes: number): InvocationValue | FunctionErrorInfo {
  const out = value as { json?: string; status?: number; headers?: Array<[string, string]>; body?: Uint8Array; failures?: Array<{ id: string; delaySeconds?: number }> };
  switch (payload.kind) {
    case 'http': {
      const result = shape === 'lambda'
        ? fromLambdaHttpResult(out.json)
        : { kind: 'http' as const, status: out.status ?? 200, headers: out.headers ?? [], body: out.body ?? new Uint8Array(0) };
      if (!('kind' in result)) return result;
      if (!Number.isInteger(result.status) || result.status < 200 || result.status > 599) {
        return { errorType: 'Runtime.InvalidResponse', errorMessage: `the Response status ${result.status} is not from 200 to 599`, trace: [] };
      }
      if (result.body.byteLength > maxResponseBytes) return tooLarge(result.body.byteLength, maxResponseBytes);
      let headerBytes = 0;
      for (const [name, value] of result.headers) headerBytes += name.length + value.length + 4;
      if (headerBytes > MAX_RESPONSE_HEADER_BYTES) {
        return { errorType: 'Function.ResponseTooLarge', errorMessage: `The response headers are ${headerBytes} bytes, over the ${MAX_RESPONSE_HEADER_BYTES} byte cap`, trace: [] };
      }
      return result;
    }
    case 'event': {
      const json = out.json ?? 'null';
      if (Buffer.byteLength(json) > maxResponseBytes) return tooLarge(Buffer.byteLength(json), maxResponseBytes);
      return { kind: 'event', json };
    }
    case 'batch':
      return { kind: 'batch', failures: shape === 'lambda' ? fromLambdaBatchResult(out.json, payload) : out.failures ?? [] };
  }
}

function tooLarge(bytes: number, cap: number): FunctionErrorInfo {
  return { errorType: 'Function.ResponseTooLarge', errorMessage: `The response is ${bytes} bytes, over the ${cap} byte cap`, trace: [] };
}

/** A copy in a fresh, exactly sized buffer: a Buffer from Node's pool would carry its neighbours into the isolate. */
function exact(body: Uint8Array | null): Uint8Array | null {
  return body === null ? null : new Uint8Array(body);
}
