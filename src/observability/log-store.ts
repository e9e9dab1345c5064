import type { LogRecord } from './records.ts';

/** A logs query; every field optional. */
export interface LogQuery {
  /** Records at or after this time (ms since epoch). With `since`, results page forward from it. */
  since?: number;
  /** Records at or before this time (ms since epoch). */
  until?: number;
  /** Only the records of this invocation. */
  requestId?: string;
  /** At most this many records. @default DEFAULT_LOG_QUERY_LIMIT */
  limit?: number;
}

/** Records matching a query, oldest first. */
export interface LogQueryResult {
  items: LogRecord[];
  /** More records matched than `limit`: without `since` the oldest were left out, with `since` the newest. */
  truncated: boolean;
}

/** Default and maximum number of records one query returns. */
export const DEFAULT_LOG_QUERY_LIMIT = 1_000;
export const MAX_LOG_QUERY_LIMIT = 10_000;

/**
 * Where function logs and invocation records go. `append` is synchronous and cheap (called
 * from observer hooks); it never blocks and may drop under pressure (counted in `dropped`).
 */
export interface LogStore {
  /** Stores a record (its `seq` is assigned by the store). */
  append(record: LogRecord): void;
  /** Records of one function matching `query`, oldest first. */
  query(functionName: string, query?: LogQuery): Promise<LogQueryResult>;
  /** Calls `listener` for every new record of `functionName` from now on. Returns an unsubscribe. */
  subscribe(functionName: string, listener: (record: LogRecord) => void): () => void;
  /** Records dropped so far (buffers full, store unreachable). */
  readonly dropped: number;
  /** Flushes what is pending and releases resources. */
  close(): Promise<void>;
}

/** True when `record` matches the time and request id parts of `query`. */
export function matchesQuery(record: LogRecord, query: LogQuery): boolean {
  if (query.requestId !== undefined && record.requestId !== query.requestId) return false;
  if (query.since === undefined && query.until === undefined) return true;
  const t = Date.parse(record.time);
  if (query.since !== undefined && t < query.since) return false;
  if (query.until !== undefined && t > query.until) return false;
  return true;
}

/** The query's limit, clamped to [1, MAX_LOG_QUERY_LIMIT]. */
export function queryLimit(query: LogQuery): number {
  const limit = query.limit ?? DEFAULT_LOG_QUERY_LIMIT;
  return Math.min(MAX_LOG_QUERY_LIMIT, Math.max(1, Math.floor(limit)));
}

/**
 * Collects matching records from an ordered scan: with `since` the first `limit` (forward
 * paging), without it the last `limit` (a tail).
 */
export class QueryCollector {
  readonly #query: LogQuery;
  readonly #limit: number;
  readonly #items: LogRecord[] = [];
  #truncated = false;

  constructor(query: LogQuery) {
    this.#query = query;
    this.#limit = queryLimit(query);
  }

  /** Offers the next record of the scan; returns false once no later record can be taken. */
  offer(record: LogRecord): boolean {
    if (this.#query.until !== undefined && Date.parse(record.time) > this.#query.until) return false;
    if (!matchesQuery(record, this.#query)) return true;
    if (this.#items.length >= this.#limit) {
      this.#truncated = true;
      if (this.#query.since !== undefined) return false;
      // Tail mode: keep the newest; trim in chunks so a long scan stays linear.
      if (this.#items.length >= 2 * this.#limit) this.#items.splice(0, this.#items.length - this.#limit);
    }
    this.#items.push(record);
    return true;
  }

  result(): LogQueryResult {
    const items = this.#items.length > this.#limit ? this.#items.slice(-this.#limit) : this.#items;
    return { items, truncated: this.#truncated };
  }
}
