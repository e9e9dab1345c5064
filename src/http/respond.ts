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
/**
 * Headers Node sets itself (a function's values would break framing), and X-Request-Id, which
 * the server sets (the request id of the invocation) and a function cannot replace.
 */
const DROPPED_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer', 'x-request-id']);

/** Turns a function's HTTP result into a Response; an unusable status or header is a FunctionError. */
export function httpResultResponse(value: HttpResult): Response {
  const status = value.status;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new IsletError('FunctionError', `the function returned an invalid HTTP status ${String(status).slice(0, 20)}`);
  }
  const body = NULL_BODY_STATUSES.has(status) || value.body.byteLength === 0 ? null : value.body;
  return new Response(body as ResponseBody, { status, headers: responseHeaders(value.headers) });
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Values Node writes as they are (its own check); anything else takes the Headers path and its errors. */
const PLAIN_HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Leading and trailing HTTP whitespace, which Headers strips from values. */
const HTTP_WHITESPACE_EDGES = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * A function's headers as a plain object when the names are distinct and valid: that keeps
 * @hono/node-server on its fast path (a Headers instance is converted back header by header).
 * Repeated names (Set-Cookie) go through Headers, which joins or keeps them as the Fetch spec says.
 */
function responseHeaders(pairs: ReadonlyArray<readonly [string, string]>): Record<string, string> | Headers {
  const plain: Record<string, string> = {};
  for (const [name, raw] of pairs) {
    const lower = name.toLowerCase();
    if (DROPPED_HEADERS.has(lower)) continue;
    const value = raw.replace(HTTP_WHITESPACE_EDGES, '');
    if (Object.hasOwn(plain, lower) || !HEADER_NAME.test(name) || !PLAIN_HEADER_VALUE.test(value)) return headersObject(pairs);
    plain[lower] = value;
  }
  return plain;
}

function headersObject(pairs: ReadonlyArray<readonly [string, string]>): Headers {
  const headers = new Headers();
  try {
    for (const [name, value] of pairs) {
      if (!DROPPED_HEADERS.has(name.toLowerCase())) headers.append(name, value);
    }
  } catch (err) {
    throw new IsletError('FunctionError', `the function returned an invalid header: ${(err as Error).message}`);
  }
  return headers;
}
