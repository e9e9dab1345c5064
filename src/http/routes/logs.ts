import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { IsletError } from '../../errors.ts';
import { MAX_LOG_QUERY_LIMIT, matchesQuery, type LogQuery, type LogRecord, type LogStore } from '../../observability/index.ts';
import { isSaneToken } from '../request-id.ts';
import { jsonResponse } from '../respond.ts';
import type { AdminRouter } from '../types.ts';

/** A comment line sent this often keeps proxies from closing an idle follow stream. */
export const FOLLOW_HEARTBEAT_MS = 15_000;
/** Records a follow stream sends first (the recent tail) unless `limit` says otherwise. */
export const FOLLOW_BACKLOG_LIMIT = 100;
/** Live records waiting for a slow follow client; beyond it they are dropped (a `dropped` event says how many). */
export const FOLLOW_QUEUE_LIMIT = 10_000;

/** What the logs routes need. */
export interface LogRoutesDeps {
  logs: LogStore;
  /** Throws IsletError FunctionNotFound (or InvalidFunctionName) for a function that does not exist. */
  functions: { get(name: string): Promise<unknown> };
  /** Aborted at shutdown: open follow streams end at once instead of holding the server open. */
  shutdown?: AbortSignal;
}

/**
 * `GET /v1/functions/:name/logs?since=&until=&requestId=&limit=&follow=1`: the function's console
 * lines and START / END / REPORT records as JSON `{items, truncated}`, or with `follow=1` as
 * Server-Sent Events (recent tail first, then live records). Register with
 * `extraAdminRoutes: [(v1) => logRoutes(v1, deps)]`.
 */
export function logRoutes(v1: AdminRouter, deps: LogRoutesDeps): void {
  v1.get('/functions/:name/logs', async (c) => {
    const name = c.req.param('name');
    await deps.functions.get(name);
    const follow = parseFlag(c.req.query('follow'));
    const query = parseLogQuery({
      since: c.req.query('since'), until: c.req.query('until'), requestId: c.req.query('requestId'), limit: c.req.query('limit'),
    });
    if (!follow) {
      const result = await deps.logs.query(name, query);
      return jsonResponse(result, 200, { 'cache-control': 'no-store' });
    }
    const lastEventId = Number(c.req.header('last-event-id') ?? '');
    const signals = [c.req.raw.signal, ...(deps.shutdown ? [deps.shutdown] : [])];
    const response = streamSSE(c, async (stream) => {
      try {
        await followLogs(stream, deps.logs, name, { ...query, limit: query.limit ?? FOLLOW_BACKLOG_LIMIT }, {
          afterSeq: Number.isSafeInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0,
          signals,
        });
      } catch {
        // The client went away mid-write, or the store failed: end the stream quietly.
      }
    });
    // A follow stream is long-lived: no keep-alive reuse, so shutdown is not held by an idle socket.
    response.headers.set('connection', 'close');
    return response;
  });
}

/** Sends the backlog, then live records, until the client leaves or the server shuts down. */
async function followLogs(stream: SSEStreamingApi, logs: LogStore, name: string, query: LogQuery, options: { afterSeq: number; signals: AbortSignal[] }): Promise<void> {
  const queue: LogRecord[] = [];
  let dropped = 0;
  let wake: (() => void) | undefined;
  const notify = () => { wake?.(); wake = undefined; };
  const live = { requestId: query.requestId } satisfies LogQuery;
  // Subscribe before reading the backlog so nothing falls between the two; seq removes the overlap.
  const unsubscribe = logs.subscribe(name, (record) => {
    if (!matchesQuery(record, live)) return;
    if (queue.length >= FOLLOW_QUEUE_LIMIT) dropped++;
    else queue.push(record);
    notify();
  });
  let ended = false;
  const end = () => { ended = true; notify(); };
  stream.onAbort(end);
  for (const signal of options.signals) {
    if (signal.aborted) ended = true;
    else signal.addEventListener('abort', end, { once: true });
  }
  try {
    let lastSeq = options.afterSeq;
    const backlog = await logs.query(name, query);
    for (const record of backlog.items) {
      if (record.seq <= lastSeq) continue;
      await stream.writeSSE({ id: String(record.seq), data: JSON.stringify(record) });
      lastSeq = record.seq;
    }
    // Live records that arrived while the backlog was read may repeat its end: drop those once.
    // After that, live records pass as they come (the store may switch and restart its seq).
    const overlap = queue.splice(0).filter((r) => r.seq > lastSeq);
    queue.unshift(...overlap);
    // A comment right away so clients see the stream is open even with an empty backlog.
    await stream.write(': following\n\n');
    while (!ended && !stream.aborted) {
      if (queue.length === 0 && dropped === 0) {
        let timer: NodeJS.Timeout | undefined;
        const beat = await new Promise<boolean>((resolve) => {
          wake = () => resolve(false);
          timer = setTimeout(() => resolve(true), FOLLOW_HEARTBEAT_MS);
        });
        clearTimeout(timer);
        wake = undefined;
        if (beat) await stream.write(': heartbeat\n\n');
        continue;
      }
      if (dropped > 0) {
        await stream.writeSSE({ event: 'dropped', data: JSON.stringify({ count: dropped }) });
        dropped = 0;
      }
      for (const record of queue.splice(0)) await stream.writeSSE({ id: String(record.seq), data: JSON.stringify(record) });
    }
  } finally {
    unsubscribe();
    for (const signal of options.signals) signal.removeEventListener('abort', end);
  }
}

/** Parses the query parameters of the logs route; a bad value is a 400 BadRequest naming it. */
export function parseLogQuery(params: { since?: string; until?: string; requestId?: string; limit?: string }, now = Date.now()): LogQuery {
  const query: LogQuery = {};
  if (params.since) query.since = parseTime('since', params.since, now);
  if (params.until) query.until = parseTime('until', params.until, now);
  if (params.requestId) {
    if (!isSaneToken(params.requestId)) throw new IsletError('BadRequest', 'requestId must be a request id token (letters, digits, . _ : -; at most 128)');
    query.requestId = params.requestId;
  }
  if (params.limit) {
    const limit = Number(params.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LOG_QUERY_LIMIT) throw new IsletError('BadRequest', `limit must be an integer from 1 to ${MAX_LOG_QUERY_LIMIT}`);
    query.limit = limit;
  }
  if (query.since !== undefined && query.until !== undefined && query.since > query.until) throw new IsletError('BadRequest', 'since must not be after until');
  return query;
}

const RELATIVE_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A time as ISO 8601, milliseconds since the epoch, or a duration ago (`90s`, `15m`, `2h`, `1d`). */
function parseTime(name: string, value: string, now: number): number {
  const relative = /^(\d{1,9})(ms|s|m|h|d)$/.exec(value);
  if (relative) return now - Number(relative[1]) * RELATIVE_UNITS_MS[relative[2]!]!;
  if (/^\d{1,15}$/.test(value)) return Number(value);
  const parsed = value.length <= 64 ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(parsed)) throw new IsletError('BadRequest', `${name} must be an ISO time, epoch milliseconds, or a duration ago like 15m`);
  return parsed;
}

/** `?follow`, `?follow=1`, `=true`, `=yes` turn following on. */
function parseFlag(value: string | undefined): boolean {
  return value !== undefined && ['', '1', 'true', 'yes'].includes(value.toLowerCase());
}
