/** Shapes of the islet admin API, as the client sends and receives them. */

/** Function settings (`PUT /v1/functions/:name`). Omitted fields keep their value on update. */
export interface FunctionSettings {
  /** Isolate heap limit. @default 128 */
  memoryMb?: number;
  /** Wall clock for a whole invocation. @default 3000 */
  timeoutMs?: number;
  /** CPU-time cap per invocation; `null` clears it. */
  cpuMs?: number | null;
  /** Replaces the whole environment map when given. */
  env?: Record<string, string>;
  /** Reserves AND caps concurrent runs; `null` clears it. */
  reservedConcurrency?: number | null;
  /** Isolates kept warm. */
  minWarm?: number | null;
  description?: string | null;
}

/** A deploy: settings plus the code (one ES module; required on create). */
export interface DeployInput extends FunctionSettings {
  code?: string;
}

/** Function info as the server returns it (code only with `includeCode`). */
export interface FunctionInfo {
  name: string;
  config: {
    memoryMb: number;
    timeoutMs: number;
    cpuMs?: number;
    env: Record<string, string>;
    reservedConcurrency?: number;
    minWarm?: number;
    description?: string;
  };
  codeSha256: string;
  handlerShape: 'edge' | 'lambda';
  exports: string[];
  revision: number;
  version: string;
  createdAt: string;
  updatedAt: string;
  code?: string;
}

/** How to invoke: wait for the result, queue it, or only check access. */
export type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

export interface InvokeOptions {
  /** @default 'RequestResponse' */
  type?: InvocationType;
  /** Ask for the last 4 KB of the invocation's log (decoded into `logTail`). */
  logTail?: boolean;
  /** Async only: the same key within the dedup window is not run twice. */
  idempotencyKey?: string;
  /** Sent as `X-Request-Id`. */
  requestId?: string;
  signal?: AbortSignal;
}

/** The Lambda error shape of a failed invocation. */
export interface FunctionErrorPayload {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/** What an invocation answered. */
export interface InvokeResult<T = unknown> {
  /** HTTP status: 200 sync, 202 queued, 204 dry run. */
  status: number;
  requestId: string;
  /** Set when the function failed (`X-Function-Error`); `payload` is then a {@link FunctionErrorPayload}. */
  functionError?: string;
  /** The parsed JSON result (sync), `{requestId}` (async), or undefined (dry run). Non-JSON bodies stay text. */
  payload: T;
  /** Decoded `X-Log-Result` when `logTail` was asked for. */
  logTail?: string;
  executedVersion?: string;
}

/** A destination: `nats:<subject>`, `function:<name>` or an `http(s)://` URL. */
export type Destination = string;

/**
 * Async invocation settings (`/v1/functions/:name/async-config`). Destinations are strings:
 * `nats:<subject>`, `function:<name>` or an `http(s)://` URL.
 */
export interface AsyncConfig {
  /** Retries after the first failed attempt. @default 2 */
  maxRetryAttempts?: number;
  /** An event older than this is given up. @default 21600 */
  maxEventAgeSeconds?: number;
  /** Retry delay: starts at baseMs, doubles per attempt up to maxMs. */
  retryBackoff?: { baseMs?: number; maxMs?: number };
  onSuccess?: string;
  onFailure?: string;
}

/** An async config as the server answers: the function name plus every field, defaults filled in. */
export interface AsyncConfigInfo extends Required<Omit<AsyncConfig, 'onSuccess' | 'onFailure' | 'retryBackoff'>> {
  functionName: string;
  retryBackoff: { baseMs: number; maxMs: number };
  onSuccess?: string;
  onFailure?: string;
}

/** Lambda's invocation record, as destinations and dead letters carry it. */
export interface InvocationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; functionName: string; condition: string; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext: { statusCode: number; executedVersion: string; functionError?: 'Unhandled' };
  responsePayload: unknown;
}

/** `POST /v1/event-sources` body. */
export interface EventSourceInput {
  function: string;
  source: { subject: string } | { stream: string; filterSubject?: string };
  startingPosition?: 'LATEST' | 'TRIM_HORIZON' | 'AT_TIMESTAMP';
  startingPositionTimestamp?: string;
  batchSize?: number;
  maxBatchingWindowMs?: number;
  filter?: { filters: Array<{ pattern: string | Record<string, unknown> }> } | null;
  reportBatchItemFailures?: boolean;
  bisectOnError?: boolean;
  maxRetryAttempts?: number;
  maxRecordAgeSeconds?: number;
  onFailure?: Destination | null;
  maxConcurrency?: number;
  ordered?: boolean;
  enabled?: boolean;
}

/** Settings that may change after create (`PUT /v1/event-sources/:id`). */
export type EventSourceUpdate = Partial<Omit<EventSourceInput, 'function' | 'source' | 'startingPosition' | 'startingPositionTimestamp'>>;

/** A stored event-source mapping. */
export interface EventSourceMapping extends Required<Pick<EventSourceInput, 'function' | 'source'>>, Omit<EventSourceInput, 'function' | 'source'> {
  id: string;
  state: string;
  stream: string;
  filterSubject?: string;
  consumer: string;
  lastProcessingResult: string;
  lastModified: string;
  createdAt: string;
  counters: { processed: number; failed: number; filtered: number; invocations: number };
}

/** A logs query; times are ms since epoch, Date or ISO strings. */
export interface LogsQuery {
  since?: number | Date | string;
  until?: number | Date | string;
  requestId?: string;
  limit?: number;
}

/** One log record: a console line or a START / END / REPORT record. */
export interface LogRecord {
  type: 'line' | 'start' | 'end' | 'report';
  seq: number;
  time: string;
  functionName: string;
  requestId: string;
  level?: 'debug' | 'info' | 'warn' | 'error';
  message?: string;
  durationMs?: number;
  billedDurationMs?: number;
  memoryUsedMb?: number;
  memoryLimitMb?: number;
  initDurationMs?: number;
  outcome?: string;
  [key: string]: unknown;
}

/** One entry of the dead-letter stream. */
export interface DeadLetter {
  /** Sequence in the ISLET_DLQ stream. */
  sequence: number;
  requestId: string;
  deadLetteredAt: string;
  reason: string;
  record: InvocationRecord;
}

/** The state of an async invocation (`GET /v1/invocations/:id`; kept 24 h). */
export interface InvocationStatus {
  requestId: string;
  functionName: string;
  state: 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'dead-lettered';
  attempts: number;
  enqueuedAt: string;
  updatedAt: string;
  lastError?: string;
}
