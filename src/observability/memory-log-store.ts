import { QueryCollector, type LogQuery, type LogQueryResult, type LogStore } from './log-store.ts';
import { Listeners } from './listeners.ts';
import type { LogRecord } from './records.ts';

/** Records kept per function in memory. */
export const DEFAULT_MEMORY_LOG_RECORDS_PER_FUNCTION = 10_000;
/** Bytes (approximate, UTF-8 of the messages plus a fixed overhead) kept per function in memory. */
export const DEFAULT_MEMORY_LOG_BYTES_PER_FUNCTION = 2 * 1024 * 1024;
/** Functions with a buffer; beyond it the one written to least recently is dropped. */
export const DEFAULT_MEMORY_LOG_FUNCTIONS = 1_000;
/** Bytes kept across all functions; beyond it whole buffers go, least recently written first. */
export const DEFAULT_MEMORY_LOG_TOTAL_BYTES = 64 * 1024 * 1024;

/** Options of {@link MemoryLogStore}. */
export interface MemoryLogStoreOptions {
  /** @default DEFAULT_MEMORY_LOG_RECORDS_PER_FUNCTION */
  maxRecordsPerFunction?: number;
  /** @default DEFAULT_MEMORY_LOG_BYTES_PER_FUNCTION */
  maxBytesPerFunction?: number;
  /** @default DEFAULT_MEMORY_LOG_FUNCTIONS */
  maxFunctions?: number;
  /** @default DEFAULT_MEMORY_LOG_TOTAL_BYTES */
  maxTotalBytes?: number;
}

/** Approximate stored size of a record: its text plus a fixed overhead for the other fields. */
export function recordBytes(record: LogRecord): number {
  const RECORD_OVERHEAD_BYTES = 200;
  return record.type === 'line' ? Buffer.byteLength(record.message) + RECORD_OVERHEAD_BYTES : RECORD_OVERHEAD_BYTES;
}

/** A ring of one function's records: the oldest go first when either cap is reached. */
class RecordRing {
  #records: LogRecord[] = [];
  #sizes: number[] = [];
  #head = 0;
  #bytes = 0;

  push(stored: LogRecord, maxRecords: number, maxBytes: number): void {
    const size = recordBytes(stored);
    this.#records.push(stored);
    this.#sizes.push(size);
    this.#bytes += size;
    while (this.#records.length - this.#head > 1 && (this.#records.length - this.#head > maxRecords || this.#bytes > maxBytes)) {
      this.#bytes -= this.#sizes[this.#head]!;
      this.#head++;
    }
    // Compact now and then so the arrays do not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#records.length) {
      this.#records = this.#records.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Approximate bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  *scan(): Iterable<LogRecord> {
    for (let i = this.#head; i < this.#records.length; i++) yield this.#records[i]!;
  }
}

/**
 * Keeps recent records per function in memory (lost on restart). Bounded by records and bytes
 * per function and by the number of functions.
 */
export class MemoryLogStore implements LogStore {
  readonly #rings = new Map<string, RecordRing>();
  readonly #listeners = new Listeners<LogRecord>();
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  readonly #maxFunctions: number;
  readonly #maxTotalBytes: number;
  #totalBytes = 0;
  /** One counter for the whole store, so seq never repeats even when a buffer is dropped and made again. */
  #nextSeq = 1;

  constructor(options: MemoryLogStoreOptions = {}) {
    this.#maxRecords = options.maxRecordsPerFunction ?? DEFAULT_MEMORY_LOG_RECORDS_PER_FUNCTION;
    this.#maxBytes = options.maxBytesPerFunction ?? DEFAULT_MEMORY_LOG_BYTES_PER_FUNCTION;
    this.#maxFunctions = options.maxFunctions ?? DEFAULT_MEMORY_LOG_FUNCTIONS;
    this.#maxTotalBytes = options.maxTotalBytes ?? DEFAULT_MEMORY_LOG_TOTAL_BYTES;
  }

  /** The memory store never drops a new record; old ones roll off by design. */
  get dropped(): number {
    return 0;
  }

  append(record: LogRecord): void {
    let ring = this.#rings.get(record.functionName);
    if (ring) {
      // Keep the map in least-recently-written order for eviction.
      this.#rings.delete(record.functionName);
    } else {
      ring = new RecordRing();
      if (this.#rings.size >= this.#maxFunctions) this.#evictLeastRecent();
    }
    this.#rings.set(record.functionName, ring);
    const before = ring.bytes;
    const stored = { ...record, seq: this.#nextSeq++ };
    ring.push(stored, this.#maxRecords, this.#maxBytes);
    this.#totalBytes += ring.bytes - before;
    while (this.#totalBytes > this.#maxTotalBytes && this.#rings.size > 1) this.#evictLeastRecent();
    this.#listeners.emit(record.functionName, stored);
  }

  #evictLeastRecent(): void {
    const oldest = this.#rings.entries().next().value;
    if (oldest === undefined) return;
    this.#rings.delete(oldest[0]);
    this.#totalBytes -= oldest[1].bytes;
  }

  async query(functionName: string, query: LogQuery = {}): Promise<LogQueryResult> {
    const collector = new QueryCollector(query);
    for (const record of this.#rings.get(functionName)?.scan() ?? []) {
      if (!collector.offer(record)) break;
    }
    return collector.result();
  }

  subscribe(functionName: string, listener: (record: LogRecord) => void): () => void {
    return this.#listeners.add(functionName, listener);
  }

  /** Forgets a function's records (e.g. after it was deleted). */
  forget(functionName: string): void {
    this.#totalBytes -= this.#rings.get(functionName)?.bytes ?? 0;
    this.#rings.delete(functionName);
  }

  async close(): Promise<void> {
    this.#rings.clear();
    this.#totalBytes = 0;
    this.#listeners.clear();
  }
}
