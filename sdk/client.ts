import { readSse } from './sse.ts';
import type {
  AsyncConfig, AsyncConfigInfo, DeadLetter, DeployInput, EventSourceInput, EventSourceMapping, EventSourceUpdate, FunctionInfo,
  InvocationStatus, InvokeOptions, InvokeResult, LogRecord, LogsQuery,
} from './types.ts';

/** Where the server is when no URL is given. */
export const DEFAULT_ISLET_URL = 'http://127.0.0.1:8080';

/** An error answer of the admin API: `{"error":{"code","message"}}` plus the HTTP status. */
export class IsletApiError extends Error {
  readonly status: number;
  /** A stable code from islet's error table (`FunctionNotFound`, `Unauthorized`, …). */
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'IsletApiError';
    this.status = status;
    this.code = code;
  }
}

/** The server could not be reached at all (connection refused, DNS, TLS). */
export class IsletConnectionError extends Error {
  readonly url: string;

  constructor(url: string, cause: unknown) {
    super(`cannot reach islet at ${url}: ${describeCause(cause)}`, { cause });
    this.name = 'IsletConnectionError';
    this.url = url;
  }
}

export interface IsletClientOptions {
  /** Base URL of the server. @default 'http://127.0.0.1:8080' */
  url?: string;
  /** Admin token (`ISLET_ADMIN_TOKEN`); sent as `Authorization: Bearer`. */
  token?: string;
  /** A fetch to use instead of the global one (tests, proxies). */
  fetch?: typeof fetch;
}

/**
 * A typed client for the islet admin API.
 * @example
 * const islet = new IsletClient({ url: 'http://127.0.0.1:8080', token: process.env.ISLET_ADMIN_TOKEN })
 * await islet.deploy('hello', { code: 'export default { fetch: () => new Response("hi") }' })
 * const { payload } = await islet.invoke('hello', { name: 'Ada' })
 */
export class IsletClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: IsletClientOptions = {}) {
    this.url = (options.url ?? DEFAULT_ISLET_URL).replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Creates or updates a function. `created` tells which (201 vs 200). */
  async deploy(name: string, input: DeployInput): Promise<{ function: FunctionInfo; created: boolean }> {
    const res = await this.#request('PUT', `/v1/functions/${fn(name)}`, input);
    return { function: await res.json() as FunctionInfo, created: res.status === 201 };
  }

  /** All functions, sorted by name (without code). */
  async list(): Promise<FunctionInfo[]> {
    const body = await this.#json<{ functions: FunctionInfo[] }>('GET', '/v1/functions');
    return body.functions;
  }

  /** One function; `includeCode` adds its code. Throws IsletApiError 404 FunctionNotFound. */
  get(name: string, options: { includeCode?: boolean } = {}): Promise<FunctionInfo> {
    return this.#json('GET', `/v1/functions/${fn(name)}${options.includeCode ? '?include=code' : ''}`);
  }

  /** Like {@link get}, but undefined when the function does not exist. */
  async find(name: string, options: { includeCode?: boolean } = {}): Promise<FunctionInfo | undefined> {
    try {
      return await this.get(name, options);
    } catch (err) {
      if (err instanceof IsletApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async delete(name: string): Promise<void> {
    await this.#request('DELETE', `/v1/functions/${fn(name)}`);
  }

  /**
   * Invokes a function with a JSON event. A function error is not thrown: it comes back with
   * `functionError` set and the `{errorType, errorMessage, trace}` payload (Lambda's contract).
   */
  async invoke<T = unknown>(name: string, event?: unknown, options: InvokeOptions = {}): Promise<InvokeResult<T>> {
    const headers: Record<string, string> = { 'x-invocation-type': options.type ?? 'RequestResponse' };
    if (options.logTail) headers['x-log-type'] = 'Tail';
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    if (options.requestId) headers['x-request-id'] = options.requestId;
    const res = await this.#request('POST', `/v1/functions/${fn(name)}/invoke`, event, { headers, signal: options.signal });
    const text = await res.text();
    const logResult = res.headers.get('x-log-result');
    const result: InvokeResult<T> = {
      status: res.status,
      requestId: res.headers.get('x-request-id') ?? '',
      payload: (text === '' ? undefined : parseMaybeJson(text)) as T,
    };
    const functionError = res.headers.get('x-function-error');
    if (functionError) result.functionError = functionError;
    if (logResult !== null) result.logTail = decodeBase64Utf8(logResult);
    const version = res.headers.get('x-islet-executed-version');
    if (version) result.executedVersion = version;
    return result;
  }

  /** Async invocation settings: retries, max event age, backoff, destinations. */
  readonly asyncConfig = {
    /** The function's settings (the defaults when none were set). */
    get: (name: string): Promise<AsyncConfigInfo> => this.#json('GET', `/v1/functions/${fn(name)}/async-config`),
    /** Replaces the settings; omitted fields get their defaults. */
    put: (name: string, config: AsyncConfig): Promise<AsyncConfigInfo> => this.#json('PUT', `/v1/functions/${fn(name)}/async-config`, config),
    /** Back to the defaults; `deleted` is false when none were set. */
    delete: async (name: string): Promise<{ deleted: boolean }> => {
      const body = await this.#json<{ deleted: boolean }>('DELETE', `/v1/functions/${fn(name)}/async-config`);
      return { deleted: body.deleted };
    },
  };

  /** Event-source mappings: NATS subjects or streams feeding batches to a function. */
  readonly eventSources = {
    list: async (functionName?: string): Promise<EventSourceMapping[]> => {
      const query = functionName ? `?function=${encodeURIComponent(functionName)}` : '';
      const body = await this.#json<{ eventSources: EventSourceMapping[] }>('GET', `/v1/event-sources${query}`);
      return body.eventSources;
    },
    get: (id: string): Promise<EventSourceMapping> => this.#json('GET', `/v1/event-sources/${enc(id)}`),
    create: (input: EventSourceInput): Promise<EventSourceMapping> => this.#json('POST', '/v1/event-sources', input),
    update: (id: string, update: EventSourceUpdate): Promise<EventSourceMapping> => this.#json('PUT', `/v1/event-sources/${enc(id)}`, update),
    enable: (id: string): Promise<EventSourceMapping> => this.#json('POST', `/v1/event-sources/${enc(id)}/enable`),
    disable: (id: string): Promise<EventSourceMapping> => this.#json('POST', `/v1/event-sources/${enc(id)}/disable`),
    delete: async (id: string): Promise<void> => {
      await this.#request('DELETE', `/v1/event-sources/${enc(id)}`);
    },
  };

  /** Function logs: a query, or a live tail (`follow`) as an async iterator. */
  readonly logs = {
    query: async (name: string, query: LogsQuery = {}): Promise<{ items: LogRecord[]; truncated: boolean }> => {
      const body = await this.#json<Record<string, unknown>>('GET', `/v1/functions/${fn(name)}/logs${logsQueryString(query)}`);
      const items = (body.items ?? body.logs ?? body.records ?? []) as LogRecord[];
      return { items, truncated: body.truncated === true };
    },
    /**
     * Streams records as they arrive (SSE) until `signal` aborts or the server ends the stream.
     * @example for await (const r of islet.logs.follow('hello', {}, ac.signal)) console.log(r.message)
     */
    follow: (name: string, query: LogsQuery = {}, signal?: AbortSignal): AsyncIterable<LogRecord> => {
      const path = `/v1/functions/${fn(name)}/logs${logsQueryString({ ...query }, true)}`;
      return this.#followLogs(path, signal);
    },
  };

  /** Async events that failed for good with no failure destination (the ISLET_DLQ stream). */
  readonly deadLetters = {
    list: async (name: string, options: { limit?: number } = {}): Promise<DeadLetter[]> => {
      const query = options.limit === undefined ? '' : `?limit=${options.limit}`;
      const body = await this.#json<{ deadLetters: DeadLetter[] }>('GET', `/v1/functions/${fn(name)}/dead-letters${query}`);
      return body.deadLetters;
    },
    /** Queues the function's dead letters again (up to `limit`); resolves with how many. */
    redrive: async (name: string, options: { limit?: number } = {}): Promise<number> => {
      const query = options.limit === undefined ? '' : `?limit=${options.limit}`;
      const body = await this.#json<{ redriven: number }>('POST', `/v1/functions/${fn(name)}/dead-letters/redrive${query}`);
      return body.redriven;
    },
  };

  /** The state of an async invocation by its request id. */
  invocation(requestId: string): Promise<InvocationStatus> {
    return this.#json('GET', `/v1/invocations/${enc(requestId)}`);
  }

  /** `GET /healthz`. */
  health(): Promise<{ status: string; uptimeS: number; functions: number }> {
    return this.#json('GET', '/healthz');
  }

  async *#followLogs(path: string, signal: AbortSignal | undefined): AsyncGenerator<LogRecord> {
    const res = await this.#request('GET', path, undefined, { headers: { accept: 'text/event-stream' }, signal });
    if (res.body === null) return;
    for await (const event of readSse(res.body, signal)) {
      if (event.data === '') continue;
      const value = parseMaybeJson(event.data);
      if (value !== null && typeof value === 'object') yield value as LogRecord;
    }
  }

  async #json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.#request(method, path, body);
    return await res.json() as T;
  }

  async #request(method: string, path: string, body?: unknown, extra: { headers?: Record<string, string>; signal?: AbortSignal | undefined } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...extra.headers };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.#fetch(this.url + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: extra.signal ?? null,
      });
    } catch (err) {
      if (extra.signal?.aborted) throw err;
      throw new IsletConnectionError(this.url, err);
    }
    if (res.ok) return res;
    throw await apiError(res);
  }
}

async function apiError(res: Response): Promise<IsletApiError> {
  const text = await res.text().catch(() => '');
  const parsed = parseMaybeJson(text) as { error?: { code?: unknown; message?: unknown } } | string | undefined;
  const error = typeof parsed === 'object' && parsed !== null ? parsed.error : undefined;
  const code = typeof error?.code === 'string' ? error.code : `Http${res.status}`;
  const message = typeof error?.message === 'string' ? error.message : `${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`;
  return new IsletApiError(res.status, code, message);
}

function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function logsQueryString(query: LogsQuery, follow = false): string {
  const params = new URLSearchParams();
  if (query.since !== undefined) params.set('since', String(toEpochMs(query.since)));
  if (query.until !== undefined) params.set('until', String(toEpochMs(query.until)));
  if (query.requestId !== undefined) params.set('requestId', query.requestId);
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  if (follow) params.set('follow', '1');
  return params.size > 0 ? `?${params}` : '';
}

function toEpochMs(value: number | Date | string): number {
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.getTime();
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new TypeError(`not a time: ${JSON.stringify(value)}`);
  return parsed;
}

function fn(name: string): string {
  return encodeURIComponent(name);
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

function describeCause(cause: unknown): string {
  const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause : cause;
  if (inner instanceof Error) {
    const code = (inner as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${inner.message}`.trim() : inner.message;
  }
  return String(inner);
}

function decodeBase64Utf8(value: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
}
