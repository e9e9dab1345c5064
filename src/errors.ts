/**
 * The one table of error codes islet answers with. Each code has its HTTP status and a
 * description; docs/errors.md documents every code (src/errors.test.ts keeps the two in step).
 */
export const ErrorCodes = {
  BadRequest: { status: 400, description: 'The request is malformed: bad JSON, a missing field, or a value out of range.' },
  InvalidFunctionName: { status: 400, description: 'Function names must match ^[A-Za-z0-9_-]{1,64}$.' },
  InvalidCode: { status: 400, description: 'The function code does not compile, or exports no usable handler.' },
  InvalidConfig: { status: 400, description: 'A function, async or event-source setting is missing or out of range.' },
  Unauthorized: { status: 401, description: 'The admin API needs `Authorization: Bearer <ISLET_ADMIN_TOKEN>`.' },
  Forbidden: { status: 403, description: 'No admin token is configured, so the admin API answers loopback clients only.' },
  FunctionNotFound: { status: 404, description: 'No function has that name.' },
  NotFound: { status: 404, description: 'No such route or resource.' },
  Conflict: { status: 409, description: 'The resource changed or exists already.' },
  PayloadTooLarge: { status: 413, description: 'The request body or event payload is over its cap.' },
  UnsupportedMediaType: { status: 415, description: 'The admin API takes JSON bodies.' },
  TooManyRequests: { status: 429, description: 'Concurrency limit reached (process-wide or the function\'s reservedConcurrency); retry after `Retry-After` seconds.' },
  InternalError: { status: 500, description: 'An unexpected server fault; the log has the details.' },
  FunctionError: { status: 502, description: 'The function threw, rejected, or returned something that cannot be mapped to an HTTP response.' },
  ResponseTooLarge: { status: 502, description: 'The function\'s response is over the response cap.' },
  FunctionMemoryLimitExceeded: { status: 502, description: 'The function went over its memory limit; its isolate was discarded.' },
  EventsUnavailable: { status: 503, description: 'Async and event features need NATS JetStream: set NATS_URL or put nats-server on PATH.' },
  ShuttingDown: { status: 503, description: 'The server is shutting down.' },
  FunctionTimeout: { status: 504, description: 'The function ran past its timeoutMs (or cpuMs); its isolate was discarded.' },
} as const satisfies Record<string, { status: number; description: string }>;

/** A stable error code string, one key of {@link ErrorCodes}. */
export type ErrorCode = keyof typeof ErrorCodes;

/** The base error of islet: a stable `code`, a user-facing message, and an optional cause. */
export class IsletError extends Error {
  readonly code: ErrorCode;
  /** Extra response headers (e.g. `Retry-After` for TooManyRequests). */
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IsletError';
    this.code = code;
    this.headers = options.headers ?? {};
  }

  /** The HTTP status this error answers with. */
  get status(): number {
    return ErrorCodes[this.code].status;
  }

  /** The JSON body clients get: `{"error":{"code","message"}}`. */
  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** True when `err` is an IsletError (optionally of one code). */
export function isIsletError(err: unknown, code?: ErrorCode): err is IsletError {
  return err instanceof IsletError && (code === undefined || err.code === code);
}
