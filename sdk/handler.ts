/**
 * Types and helpers for code that runs inside islet. Nothing here touches Node APIs, so
 * functions may import it and esbuild bundles it away (the helpers are identity functions).
 *
 * Two handler shapes work: edge style ({@link ExportedHandler}, Cloudflare Workers-compatible)
 * and Lambda style ({@link Handler}).
 */

/** A function's environment variables (`env` for edge style, `process.env` for Lambda style). */
export type Env = Record<string, string>;

/**
 * Edge-style execution context (third argument of `fetch` / `queue`).
 * @example ctx.waitUntil(fetch('https://audit.example/log', { method: 'POST', body: 'x' }))
 */
export interface ExecutionContext {
  /** Keeps the invocation alive until `promise` settles (bounded by the function's timeoutMs). */
  waitUntil(promise: Promise<unknown>): void;
  /** Accepted for Workers compatibility; islet has no origin to fall back to. */
  passThroughOnException(): void;
}

/** One message of an event-source batch, Workers style. */
export interface Message<Body = unknown> {
  readonly id: string;
  /** The NATS subject the message was published on. */
  readonly subject: string;
  readonly headers: Record<string, string[]>;
  readonly timestamp: Date;
  /** The message body: parsed JSON when it is JSON, the text otherwise. */
  readonly body: Body;
  /** Deliveries so far, 1 on the first. */
  readonly attempts: number;
  /** Marks this message done even if the handler later throws. */
  ack(): void;
  /** Marks this message failed: it is retried (after `delaySeconds` when given). */
  retry(options?: { delaySeconds?: number }): void;
}

/** A batch of messages from an event-source mapping, Workers style. */
export interface MessageBatch<Body = unknown> {
  /** The subject or stream the mapping reads. */
  readonly queue: string;
  readonly messages: ReadonlyArray<Message<Body>>;
  ackAll(): void;
  retryAll(options?: { delaySeconds?: number }): void;
}

/**
 * Edge-style module: `export default { fetch, queue }`.
 * @example
 * export default {
 *   async fetch(request, env) { return new Response(`hi ${env.GREETING}`) },
 * } satisfies ExportedHandler
 */
export interface ExportedHandler<E = Env, QueueBody = unknown> {
  /** Runs for HTTP triggers (`ANY /fn/:name/*`) and admin invokes. */
  fetch?(request: Request, env: E, ctx: ExecutionContext): Response | Promise<Response>;
  /** Runs for event-source batches. A throw retries every message not acked. */
  queue?(batch: MessageBatch<QueueBody>, env: E, ctx: ExecutionContext): void | Promise<void>;
}

/** Lambda-style invocation context (second argument of `handler`). */
export interface Context {
  /** The invocation's request id (same as `requestId`). */
  awsRequestId: string;
  requestId: string;
  functionName: string;
  /** `$LATEST` until versions exist. */
  functionVersion: string;
  /** A qualifier naming the function, like Lambda's ARN. */
  invokedFunctionArn: string;
  memoryLimitInMB: string | number;
  /** Milliseconds left before the function's timeoutMs. */
  getRemainingTimeInMillis(): number;
  callbackWaitsForEmptyEventLoop?: boolean;
}

/**
 * Lambda-style handler: `export async function handler(event, context)`.
 * @example
 * export const handler: Handler<{ name: string }, string> = async (event) => `hi ${event.name}`
 */
export type Handler<TEvent = unknown, TResult = unknown> = (event: TEvent, context: Context) => TResult | Promise<TResult>;

/** Lambda Function URL request payload, version 2.0 (what HTTP triggers send to Lambda-style handlers). */
export interface FunctionUrlEvent {
  version: '2.0';
  routeKey: string;
  /** Path after `/fn/:name`, starting with '/'. */
  rawPath: string;
  /** Query string without '?'; '' when none. */
  rawQueryString: string;
  cookies?: string[];
  /** Header names are lower-case; repeated headers are joined with ','. */
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: {
    requestId: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    timeEpoch: number;
    [key: string]: unknown;
  };
  /** The body: text, or base64 when `isBase64Encoded`. */
  body?: string;
  isBase64Encoded: boolean;
}

/** What a Lambda-style HTTP handler returns. Any other JSON value answers 200 application/json. */
export interface FunctionUrlResult {
  statusCode?: number;
  headers?: Record<string, string>;
  body?: string;
  cookies?: string[];
  isBase64Encoded?: boolean;
}

/** One record of a Lambda-style batch (event-source mappings). */
export interface BatchRecord {
  /** Use as `itemIdentifier` in {@link BatchResponse}. */
  messageId: string;
  /** The NATS subject the message was published on. */
  subject: string;
  /** The message body as UTF-8 text. */
  body: string;
  /** NATS headers of the message. */
  headers: Record<string, string[]>;
  /** ISO time of publish. */
  timestamp: string;
  /** JetStream stream sequence. */
  sequence: number;
  /** Deliveries so far, 1 on the first. */
  deliveryCount: number;
  eventSource: 'islet:nats';
  /** The event-source mapping id. */
  eventSourceARN: string;
}

/** A Lambda-style batch event: `{ Records: [...] }`. */
export interface BatchEvent {
  Records: BatchRecord[];
}

/** Partial batch failure reply: only the listed records are retried. */
export interface BatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/**
 * Types a Lambda-style handler without changing it.
 * @example
 * export const handler = defineHandler<FunctionUrlEvent, FunctionUrlResult>(async (event) => ({
 *   statusCode: 200, body: event.rawPath,
 * }))
 */
export function defineHandler<TEvent = unknown, TResult = unknown>(handler: Handler<TEvent, TResult>): Handler<TEvent, TResult> {
  return handler;
}

/**
 * Types an edge-style module without changing it.
 * @example
 * export default defineWorker<{ GREETING: string }>({
 *   fetch: (request, env) => new Response(env.GREETING),
 * })
 */
export function defineWorker<E = Env, QueueBody = unknown>(handler: ExportedHandler<E, QueueBody>): ExportedHandler<E, QueueBody> {
  return handler;
}

/**
 * Wraps one fetch function into an edge-style module.
 * @example export default defineFetch((request) => new Response('hi'))
 */
export function defineFetch<E = Env>(fetch: NonNullable<ExportedHandler<E>['fetch']>): ExportedHandler<E> {
  return { fetch };
}

/**
 * Types a Lambda-style batch handler that reports partial failures.
 * @example
 * export const handler = defineBatchHandler(async ({ Records }) => ({
 *   batchItemFailures: Records.filter((r) => r.body === 'bad').map((r) => ({ itemIdentifier: r.messageId })),
 * }))
 */
export function defineBatchHandler(handler: Handler<BatchEvent, BatchResponse | void>): Handler<BatchEvent, BatchResponse | void> {
  return handler;
}
