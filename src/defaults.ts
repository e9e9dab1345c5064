import { availableParallelism } from 'node:os';

/** Every default and hard bound in one place, units in the names. */

// Function limits
export const DEFAULT_MEMORY_MB = 128;
export const MIN_MEMORY_MB = 16;
export const MAX_MEMORY_MB = 4096;
export const DEFAULT_TIMEOUT_MS = 3_000;
export const MAX_TIMEOUT_MS = 900_000;
/** Subrequests (fetch calls) one invocation may make. */
export const DEFAULT_MAX_SUBREQUESTS = 50;
/** Wall clock for one subrequest. */
export const DEFAULT_SUBREQUEST_TIMEOUT_MS = 30_000;
/** Console output kept per invocation; the rest is dropped with a warning line. */
export const DEFAULT_MAX_LOG_BYTES_PER_INVOCATION = 256 * 1024;
/** Function source size cap. */
export const MAX_CODE_BYTES = 10 * 1024 * 1024;

// Payload caps
export const DEFAULT_MAX_REQUEST_BYTES = 6 * 1024 * 1024;
export const DEFAULT_MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

// Scaling
const CORES = availableParallelism();
/** Concurrent invocations (executing + awaiting I/O) across the process. */
export const DEFAULT_MAX_CONCURRENCY = Math.max(64, CORES * 32);
/** Isolates executing JavaScript at once; near the core count (isolated-vm's thread pool). */
export const DEFAULT_MAX_EXECUTING = Math.max(2, CORES);
/** Warm isolates kept across all functions; the coldest pools are reclaimed first. */
export const DEFAULT_MAX_WARM_ISOLATES = 1_000;
/** An isolate idle this long is disposed (scale to zero). */
export const DEFAULT_IDLE_TTL_MS = 5 * 60_000;
/** How long a request waits for a free slot before it is throttled with 429. */
export const DEFAULT_QUEUE_WAIT_MS = 1_000;
/** Retry-After seconds sent with a 429. */
export const THROTTLE_RETRY_AFTER_S = 1;

// HTTP
export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '0.0.0.0';
export const DEFAULT_DATA_DIR = './data';
export const FUNCTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

// Async invocation (src/events/async)
/** Retries after the first failed attempt (Lambda's default). */
export const DEFAULT_ASYNC_MAX_RETRY_ATTEMPTS = 2;
export const MAX_ASYNC_MAX_RETRY_ATTEMPTS = 10;
/** Age after which an unprocessed event is given up (6 h, Lambda's default and maximum). */
export const DEFAULT_ASYNC_MAX_EVENT_AGE_S = 21_600;
export const MIN_ASYNC_MAX_EVENT_AGE_S = 60;
export const MAX_ASYNC_MAX_EVENT_AGE_S = 21_600;
/** First retry delay; doubles per attempt (plus jitter) up to the max. */
export const DEFAULT_ASYNC_RETRY_BASE_MS = 1_000;
export const DEFAULT_ASYNC_RETRY_MAX_MS = 60_000;
/** Events of one function running at once on one node (unless reservedConcurrency is lower). */
export const DEFAULT_ASYNC_CONCURRENCY_PER_FUNCTION = 16;
/** JetStream redelivers an unacknowledged event after this; `working()` extends it while it runs. */
export const ASYNC_ACK_WAIT_MS = 30_000;
/** Same Idempotency-Key (or request id) within this window yields the first request id. */
export const ASYNC_DEDUP_WINDOW_MS = 10 * 60_000;
/** How long GET /v1/invocations/:requestId remembers an invocation. */
export const ASYNC_STATUS_TTL_MS = 24 * 60 * 60_000;
/** Delay before a throttled event is offered again (no attempt spent). */
export const ASYNC_THROTTLE_DELAY_MS = 1_000;
/** Webhook destination: per-try timeout and tries. */
export const DESTINATION_HTTP_TIMEOUT_MS = 10_000;
export const DESTINATION_HTTP_TRIES = 3;

// Event sources
/** ack_wait of event-source consumers; islet keeps leases alive with working() while it holds a message. */
export const DEFAULT_EVENT_SOURCE_ACK_WAIT_MS = 30_000;
