import type { BatchRecord } from '@islet/sdk/handler';
import type { BatchPayload, FunctionErrorInfo, HttpPayload, HttpResult } from './types.ts';

/** Lambda's Function URL request event, payload format 2.0. */
export interface LambdaHttpEvent {
  version: '2.0';
  routeKey: '$default';
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: {
    accountId: 'anonymous';
    apiId: string;
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: '$default';
    stage: '$default';
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

const TEXT_TYPE = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|graphql)|[^;]*\+(json|xml))/i;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Builds the Function URL 2.0 event a Lambda-style handler receives for an HTTP request. */
export function toLambdaHttpEvent(payload: HttpPayload, requestId: string, now = new Date()): LambdaHttpEvent {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of payload.headers) {
    const key = name.toLowerCase();
    if (key === 'cookie') {
      cookies = [...(cookies ?? []), ...value.split(';').map((c) => c.trim()).filter((c) => c !== '')];
      continue;
    }
    headers[key] = key in headers ? `${headers[key]},${value}` : value;
  }
  const event: LambdaHttpEvent = {
    version: '2.0',
    routeKey: '$default',
    rawPath: payload.path,
    rawQueryString: payload.rawQuery,
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'islet',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? '',
      http: {
        method: payload.method.toUpperCase(),
        path: payload.path,
        protocol: 'HTTP/1.1',
        sourceIp: payload.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies !== undefined) event.cookies = cookies;
  const query = parseQuery(payload.rawQuery);
  if (query !== undefined) event.queryStringParameters = query;
  if (payload.body !== null && payload.body.byteLength > 0) {
    const text = bodyAsText(payload.body, headers['content-type']);
    if (text === undefined) {
      event.body = Buffer.from(payload.body.buffer, payload.body.byteOffset, payload.body.byteLength).toString('base64');
      event.isBase64Encoded = true;
    } else {
      event.body = text;
    }
  }
  return event;
}

/** Lambda joins repeated query parameters with ','. */
function parseQuery(raw: string): Record<string, string> | undefined {
  if (raw === '') return undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(raw)) out[key] = key in out ? `${out[key]},${value}` : value;
  return out;
}

/** Text content types go as text; others (and bytes that are not UTF-8) as base64. */
function bodyAsText(body: Uint8Array, contentType: string | undefined): string | undefined {
  if (contentType !== undefined && !TEXT_TYPE.test(contentType.trim())) return undefined;
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

function clfTime(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/**
 * Maps a Lambda handler's return value (as JSON text; undefined when it returned nothing) to
 * an HTTP response, as Function URLs do: an object with `statusCode` is a response; any other
 * JSON value is 200 `application/json` with that JSON; nothing is an empty 200.
 */
export function fromLambdaHttpResult(json: string | undefined): HttpResult | FunctionErrorInfo {
  if (json === undefined) return { kind: 'http', status: 200, headers: [], body: new Uint8Array(0) };
  const value: unknown = JSON.parse(json);
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !('statusCode' in value)) {
    return { kind: 'http', status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(json) };
  }
  const result = value as { statusCode: unknown; headers?: unknown; body?: unknown; cookies?: unknown; isBase64Encoded?: unknown };
  const status = Number(result.statusCode);
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    return mappingError(`statusCode must be an integer from 200 to 599, got ${JSON.stringify(result.statusCode)}`);
  }
  const headers: Array<[string, string]> = [];
  if (result.headers !== undefined && result.headers !== null) {
    if (typeof result.headers !== 'object' || Array.isArray(result.headers)) return mappingError('headers must be an object');
    for (const [name, v] of Object.entries(result.headers)) {
      if (v === null || v === undefined) continue;
      if (typeof v === 'object') return mappingError(`header ${name} must be a string, number or boolean`);
      headers.push([name.toLowerCase(), String(v)]);
    }
  }
  if (Array.isArray(result.cookies)) for (const cookie of result.cookies) headers.push(['set-cookie', String(cookie)]);
  let body: Uint8Array;
  if (result.body === undefined || result.body === null) body = new Uint8Array(0);
  else if (typeof result.body !== 'string') body = Buffer.from(JSON.stringify(result.body));
  else body = result.isBase64Encoded === true ? Buffer.from(result.body, 'base64') : Buffer.from(result.body);
  if (!headers.some(([name]) => name === 'content-type') && body.byteLength > 0) headers.push(['content-type', 'text/plain; charset=utf-8']);
  return { kind: 'http', status, headers, body };
}

function mappingError(message: string): FunctionErrorInfo {
  return { errorType: 'Runtime.InvalidResponse', errorMessage: `the handler's response cannot be mapped to HTTP: ${message}`, trace: [] };
}

/** One record of the `{Records:[…]}` event a Lambda-style handler gets for a batch: the SDK's public type. */
export type LambdaBatchRecord = BatchRecord;

/** Builds `{Records: [...]}` for a Lambda-style handler. */
export function toLambdaBatchEvent(payload: BatchPayload): { Records: LambdaBatchRecord[] } {
  return {
    Records: payload.messages.map((m) => ({
      messageId: m.id,
      subject: m.subject,
      body: m.body,
      headers: m.headers,
      timestamp: m.timestamp,
      sequence: m.sequence,
      deliveryCount: m.attempts,
      eventSource: 'islet:nats',
      eventSourceARN: payload.source.mappingId,
    })),
  };
}

/**
 * Reads `{batchItemFailures: [{itemIdentifier}]}`. Like Lambda, an identifier that names no
 * message of the batch fails the whole batch; no reply (or no list) means every message succeeded.
 */
export function fromLambdaBatchResult(json: string | undefined, payload: BatchPayload): Array<{ id: string }> {
  if (json === undefined) return [];
  const value: unknown = JSON.parse(json);
  if (value === null || typeof value !== 'object' || !('batchItemFailures' in value)) return [];
  const list = (value as { batchItemFailures: unknown }).batchItemFailures;
  if (list === null || list === undefined) return [];
  const ids = new Set(payload.messages.map((m) => m.id));
  const all = payload.messages.map((m) => ({ id: m.id }));
  if (!Array.isArray(list)) return all;
  const failures: Array<{ id: string }> = [];
  for (const item of list) {
    const id = item !== null && typeof item === 'object' ? (item as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || !ids.has(id)) return all;
    if (!failures.some((f) => f.id === id)) failures.push({ id });
  }
  return failures;
}
