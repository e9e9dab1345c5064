import type { FunctionRecord } from '../registry/types.ts';

/** How an invocation came in; shows in REPORT records and metrics. */
export const Triggers = { http: 'http', invoke: 'invoke', async: 'async', eventSource: 'event-source' } as const;
export type Trigger = (typeof Triggers)[keyof typeof Triggers];

/** An HTTP request for a function (trigger `ANY /fn/:name/*`). */
export interface HttpPayload {
  kind: 'http';
  method: string;
  /** Path after `/fn/:name`, always starting with '/'. */
  path: string;
  /** Query string without '?', '' when none. */
  rawQuery: string;
  /** Header pairs in arrival order, names lower-case. */
  headers: Array<[string, string]>;
  body: Uint8Array | null;
  sourceIp: string;
  /** Absolute URL for `request.url`: the client's origin + `path` + query (e.g. http://host:8080/x?y=1 for /fn/hello/x?y=1). */
  url: string;
}

/** A direct invocation with a JSON event (admin invoke, async queue, destinations). */
export interface EventPayload {
  kind: 'event';
  /** The event as JSON text (already validated as JSON). */
  json: string;
}

/** One message of an event-source batch. */
export interface BatchMessage {
  id: string;
  subject: string;
  /** UTF-8 body text. */
  body: string;
  headers: Record<string, string[]>;
  /** ISO time of publish. */
  timestamp: string;
  /** Stream sequence. */
  sequence: number;
  /** Deliveries so far, 1 on the first. */
  attempts: number;
}

/** A batch from an event-source mapping. */
export interface BatchPayload {
  kind: 'batch';
  /** Mapping id and source description, visible to the handler as `eventSourceARN`-like info. */
  source: { mappingId: string; subject?: string; stream?: string };
  messages: BatchMessage[];
}

export type InvocationPayload = HttpPayload | EventPayload | BatchPayload;

/** Per-call options. */
export interface InvokeOptions {
  trigger: Trigger;
  /** Client- or queue-given id; a fresh UUID otherwise. */
  requestId?: string;
  /** Collect the invocation's log output into `result.logTail` (last 4 KB). */
  logTail?: boolean;
  /** Aborts a waiting or running invocation (client went away, shutdown). */
  signal?: AbortSignal;
  /** Invocation attempt, 1-based (async retries). */
  attempt?: number;
}

export const Outcomes = {
  success: 'success', error: 'error', timeout: 'timeout', memory: 'memory', throttled: 'throttled', crash: 'crash',
} as const;
export type Outcome = (typeof Outcomes)[keyof typeof Outcomes];

/** Lambda's error shape for a failed invocation. */
export interface FunctionErrorInfo {
  /** 'Error', 'TypeError', 'Function.Timeout', 'Function.MemoryLimitExceeded', 'Function.ResponseTooLarge', … */
  errorType: string;
  errorMessage: string;
  trace: string[];
}

export interface HttpResult { kind: 'http'; status: number; headers: Array<[string, string]>; body: Uint8Array }
/** The handler's return value as JSON text ('null' for undefined). */
export interface EventResult { kind: 'event'; json: string }
/** Messages to retry; every other message of the batch succeeded. */
export interface BatchResult { kind: 'batch'; failures: Array<{ id: string; delaySeconds?: number }> }
export type InvocationValue = HttpResult | EventResult | BatchResult;

/** One REPORT record per invocation. */
export interface InvocationReport {
  requestId: string;
  functionName: string;
  version: string;
  trigger: Trigger;
  startedAt: string;
  durationMs: number;
  billedDurationMs: number;
  memoryLimitMb: number;
  memoryUsedMb: number;
  /** Set on a cold start: isolate creation + prelude + module evaluation. */
  initDurationMs?: number;
  outcome: Outcome;
}

export interface InvocationResult {
  requestId: string;
  outcome: Outcome;
  /** Present when outcome is 'success'. */
  value?: InvocationValue;
  /** Present when outcome is not 'success'. */
  error?: FunctionErrorInfo;
  report: InvocationReport;
  /** Last 4 KB of the invocation's log when `logTail` was asked for. */
  logTail?: string;
}

/**
 * The one entry to running functions. Throws IsletError for FunctionNotFound, TooManyRequests
 * (with Retry-After) and ShuttingDown; a failing function comes back as a result, never a throw.
 */
export interface Invoker {
  invoke(name: string, payload: InvocationPayload, options: InvokeOptions): Promise<InvocationResult>;
}

/** A line of function console output. */
export interface LogEntry {
  time: string;
  functionName: string;
  requestId: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

/** Why an isolate was thrown away. */
export type DiscardReason = 'timeout' | 'memory' | 'cpu' | 'idle' | 'evicted' | 'redeploy' | 'crash';

/**
 * Hooks the runtime calls; observability (metrics, log store) implements them. All optional,
 * all synchronous and cheap: an observer must never slow an invocation down.
 */
export interface InvocationObserver {
  /** `version` (optional): shown in the START record. */
  onStart?(info: { requestId: string; functionName: string; trigger: Trigger; cold: boolean; version?: string }): void;
  onLog?(entry: LogEntry): void;
  onReport?(report: InvocationReport): void;
  onThrottle?(info: { functionName: string; trigger: Trigger }): void;
  onIsolateDiscard?(info: { functionName: string; reason: DiscardReason }): void;
}

/** Runtime figures for metrics. */
export interface RuntimeStats {
  warmIsolates: number;
  executing: number;
  inFlight: number;
  heapUsedBytes: number;
  perFunction: Array<{ functionName: string; warm: number; busy: number }>;
}

/**
 * Header the runtime sets on every fetch() a function makes (its value: the function's name),
 * like Cloudflare's `CF-Worker`. Functions cannot remove it; the loopback-only admin API
 * refuses requests that carry it, so a function cannot reach it from 127.0.0.1.
 */
export const SUBREQUEST_HEADER = 'x-islet-function';

/** Checks a module at deploy: compiles it, finds its handler shape. Throws IsletError InvalidCode. */
export type CodeValidator = (code: string) => Promise<{ handlerShape: FunctionRecord['handlerShape']; exports: string[] }>;
