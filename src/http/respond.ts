import { ErrorCodes, IsletError } from '../errors.ts';
import { THROTTLE_RETRY_AFTER_S } from '../defaults.ts';
import type { HttpResult, InvocationResult } from '../invoke/types.ts';

/** What the Response constructor takes as a body (lib.dom's BodyInit is not in our lib). */
export type ResponseBody = ConstructorParameters<typeof Response>[0];

/** A JSON response with the given status and extra headers. */
export function jsonResponse(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** The `{"error":{"code","message"}}` response of an IsletError. */
export function errorResponse(err: IsletError): Response {
  return jsonResponse(err.toJSON(), ErrorCodes[err.code].status, err.headers);
}

/**
 * The IsletError a failed invocation answers an HTTP trigger with: a function error is 502
 * FunctionError, a timeout 504, a memory overrun and an oversized response 502 of their own.
 */
export function outcomeError(result: InvocationResult): IsletError {
  const info = result.error ?? { errorType: 'Error', errorMessage: 'the invocation failed', trace: [] };
  const text = `${info.errorType}: ${info.errorMessage}`;
  if (info.errorType === 'Function.ResponseTooLarge') return new IsletError('ResponseTooLarge', info.errorMessage);
  switch (result.outcome) {
    case 'timeout': return new IsletError('FunctionTimeout', info.errorMessage);
    case 'memory': return new IsletError('FunctionMemoryLimitExceeded', info.errorMessage);
    case 'throttled': return new IsletError('TooManyRequests', info.errorMessage, { headers: { 'Retry-After': String(THROTTLE_RETRY_AFTER_S) } });
    default: return new IsletError('FunctionError', text);
  }
}

/** Statuses that must not carry a body (the Response constructor rejects one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
/** Headers Node sets itself; a function's values would break framing. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

/** Turns a function's HTTP result into a Response; an unusable status or header is a FunctionError. */
export function httpResultResponse(value: HttpResult): Response {
  const status = value.status;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new IsletError('FunctionError', `the function returned an invalid HTTP status ${String(status).slice(0, 20)}`);
  }
  const headers = new Headers();
  try {
    for (const [name, headerValue] of value.headers) {
      if (!HOP_BY_HOP.has(name.toLowerCase())) headers.append(name, headerValue);
    }
  } catch (err) {
    throw new IsletError('FunctionError', `the function returned an invalid header: ${(err as Error).message}`);
  }
  const body = NULL_BODY_STATUSES.has(status) || value.body.byteLength === 0 ? null : value.body;
  return new Response(body as ResponseBody, { status, headers });
}
