import type { Logger } from '../observability/logger.ts';
import type { InvocationObserver, LogEntry } from '../invoke/types.ts';

/** Bytes of log kept for `result.logTail`. */
export const LOG_TAIL_BYTES = 4 * 1024;

/**
 * One invocation's console output: forwards each line to the observer and the pino log,
 * enforces the per-invocation byte cap (one warning line, then silence), and keeps the tail
 * for `logTail`.
 */
export class InvocationLog {
  #functionName: string;
  #requestId: string;
  #log: Logger;
  #observer: InvocationObserver | undefined;
  #maxBytes: number;
  #bytes = 0;
  #closed = false;
  #tail: string[] | undefined;
  #tailBytes = 0;

  constructor(options: { functionName: string; requestId: string; log: Logger; observer?: InvocationObserver; maxBytes: number; keepTail: boolean }) {
    this.#functionName = options.functionName;
    this.#requestId = options.requestId;
    this.#log = options.log;
    this.#observer = options.observer;
    this.#maxBytes = options.maxBytes;
    this.#tail = options.keepTail ? [] : undefined;
  }

  /** Takes one console line; answers false once the cap is reached (the isolate stops sending). */
  write(level: LogEntry['level'], message: string): boolean {
    if (this.#closed) return false;
    this.#bytes += Buffer.byteLength(message) + 1;
    if (this.#bytes > this.#maxBytes) {
      this.#closed = true;
      this.#emit('warn', `log output of this invocation is over ${this.#maxBytes} bytes; further lines are dropped`);
      return false;
    }
    this.#emit(level, message);
    return true;
  }

  /** Adds a line of the runtime's own (e.g. the REPORT line) to the tail only. */
  note(line: string): void {
    this.#keep(line);
  }

  /** The last 4 KB of this invocation's log lines. */
  tail(): string | undefined {
    if (this.#tail === undefined) return undefined;
    const text = this.#tail.join('');
    const bytes = Buffer.from(text);
    return bytes.byteLength <= LOG_TAIL_BYTES ? text : bytes.subarray(bytes.byteLength - LOG_TAIL_BYTES).toString('utf8').replace(/^\uFFFD+/, '');
  }

  #emit(level: LogEntry['level'], message: string): void {
    const entry: LogEntry = { time: new Date().toISOString(), functionName: this.#functionName, requestId: this.#requestId, level, message };
    this.#observer?.onLog?.(entry);
    this.#log[level]({ fn: this.#functionName, requestId: this.#requestId }, message);
    this.#keep(`${entry.time}\t${this.#requestId}\t${level.toUpperCase()}\t${message}\n`);
  }

  #keep(line: string): void {
    if (this.#tail === undefined) return;
    this.#tail.push(line);
    this.#tailBytes += line.length;
    while (this.#tail.length > 1 && this.#tailBytes - this.#tail[0]!.length > LOG_TAIL_BYTES * 2) {
      this.#tailBytes -= this.#tail.shift()!.length;
    }
  }
}
