import { DEFAULT_MEMORY_MB } from '../defaults.ts';
import type { Logger } from '../observability/logger.ts';
import { FunctionIsolate, type CatastrophicHandler } from './isolate.ts';
import type { Prelude } from './prelude/index.ts';

/**
 * A few isolates of the default memory size with the prelude already run and the
 * request/response paths warmed, so a cold start only binds the function and loads its module.
 */
export class SpareIsolates {
  #prelude: Prelude;
  #count: number;
  #gate: <T>(work: () => Promise<T>) => Promise<T>;
  #onCatastrophicError: CatastrophicHandler;
  #log: Logger;
  #spares: FunctionIsolate[] = [];
  #refilling = false;
  #closed = false;

  constructor(options: { prelude: Prelude; count: number; gate: <T>(work: () => Promise<T>) => Promise<T>;
    onCatastrophicError: CatastrophicHandler; log: Logger }) {
    this.#prelude = options.prelude;
    this.#count = options.count;
    this.#gate = options.gate;
    this.#onCatastrophicError = options.onCatastrophicError;
    this.#log = options.log;
  }

  /** A fresh isolate: a spare when one is ready for this memory size, else a new one. */
  async create(memoryMb: number): Promise<FunctionIsolate> {
    // The caller calls refillSoon() after its cold start: creating an isolate partly runs on
    // the main thread and would slow down the very cold start the spare is meant to speed up.
    const spare = memoryMb === DEFAULT_MEMORY_MB ? this.#spares.pop() : undefined;
    return spare ?? FunctionIsolate.create(this.#prelude, memoryMb, this.#onCatastrophicError);
  }

  /** Tops the spares up in the background, once the current work has moved on. */
  refillSoon(): void {
    if (this.#count > 0 && !this.#closed) setImmediate(() => this.#refill());
  }

  close(): void {
    this.#closed = true;
    for (const spare of this.#spares.splice(0)) spare.dispose();
  }

  #refill(): void {
    if (this.#refilling || this.#closed) return;
    this.#refilling = true;
    void (async () => {
      try {
        while (!this.#closed && this.#spares.length < this.#count) {
          const spare = await this.#gate(async () => {
            const isolate = await FunctionIsolate.create(this.#prelude, DEFAULT_MEMORY_MB, this.#onCatastrophicError);
            await isolate.warmup().catch((err: unknown) => { isolate.dispose(); throw err; });
            return isolate;
          });
          if (this.#closed) spare.dispose();
          else this.#spares.push(spare);
        }
      } catch (err) {
        this.#log.warn({ err }, 'could not create a spare isolate');
      } finally {
        this.#refilling = false;
      }
    })();
  }
}
