import { THROTTLE_RETRY_AFTER_S } from '../defaults.ts';
import { IsletError } from '../errors.ts';

/** Releases a slot; calling it twice is harmless. */
export type Release = () => void;

interface Waiter {
  fits(): boolean;
  grant(): void;
}

/** A counting semaphore with a FIFO queue (used to cap concurrently executing isolates). */
export class Semaphore {
  #max: number;
  #used = 0;
  #queue: Array<() => void> = [];

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  get used(): number { return this.#used; }

  /** Takes a slot if one is free now (no waiting); the caller must `release()` it. */
  tryAcquire(): boolean {
    if (this.#used >= this.#max) return false;
    this.#used++;
    return true;
  }

  /** Takes a slot, waiting in FIFO order; the caller must `release()` it exactly once. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve) => this.#queue.push(resolve));
  }

  /** Gives a slot back (to the longest waiter, if any). */
  release(): void {
    const next = this.#queue.shift();
    if (next !== undefined) next();
    else this.#used--;
  }

  /** Runs `work` holding one slot. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }
}

/**
 * Process-wide concurrency with per-function reservations. A function with
 * `reservedConcurrency` R runs at most R at once and never competes for the shared slots; every
 * other function shares `max - (sum of reservations)`. A caller waits at most `waitMs` for a
 * slot, then gets TooManyRequests with Retry-After.
 */
export class ConcurrencyLimiter {
  #max: number;
  #reserved = new Map<string, number>();
  #reservedTotal = 0;
  #inFlight = new Map<string, number>();
  #sharedInFlight = 0;
  #total = 0;
  #waiters: Waiter[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  /** Invocations holding a slot. */
  get inFlight(): number { return this.#total; }

  /** Records a function's reservation (undefined: it shares the process pool). */
  setReservation(name: string, reserved: number | undefined): void {
    const before = this.#reserved.get(name);
    if (before === reserved) return;
    if (before !== undefined) this.#reservedTotal -= before;
    if (reserved === undefined) this.#reserved.delete(name);
    else {
      this.#reserved.set(name, reserved);
      this.#reservedTotal += reserved;
    }
    this.#wake();
  }

  /** Takes a slot for `name`, waiting up to `waitMs`; throws TooManyRequests when none frees up. */
  async acquire(name: string, waitMs: number, signal?: AbortSignal): Promise<Release> {
    const reserved = this.#reserved.get(name);
    if (reserved === 0) throw throttled(`${name} has reservedConcurrency 0`);
    if (this.#fits(name)) return this.#take(name);
    if (waitMs <= 0) throw throttled(this.#why(name));
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        fits: () => this.#fits(name),
        grant: () => {
          cleanup();
          resolve(this.#take(name));
        },
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(throttled(this.#why(name)));
      }, waitMs);
      const onAbort = () => {
        cleanup();
        reject(new IsletError('ShuttingDown', 'the invocation was aborted while it waited for a concurrency slot'));
      };
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #fits(name: string): boolean {
    const reserved = this.#reserved.get(name);
    const mine = this.#inFlight.get(name) ?? 0;
    if (reserved !== undefined) return mine < reserved;
    return this.#sharedInFlight < this.#max - this.#reservedTotal;
  }

  #why(name: string): string {
    const reserved = this.#reserved.get(name);
    return reserved !== undefined
      ? `${name} is at its reservedConcurrency of ${reserved}`
      : `the server is at its concurrency limit (${Math.max(0, this.#max - this.#reservedTotal)} unreserved)`;
  }

  #take(name: string): Release {
    const shared = !this.#reserved.has(name);
    this.#inFlight.set(name, (this.#inFlight.get(name) ?? 0) + 1);
    if (shared) this.#sharedInFlight++;
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#inFlight.get(name) ?? 1) - 1;
      if (left === 0) this.#inFlight.delete(name);
      else this.#inFlight.set(name, left);
      if (shared) this.#sharedInFlight--;
      this.#total--;
      this.#wake();
    };
  }

  #wake(): void {
    for (let i = 0; i < this.#waiters.length;) {
      const waiter = this.#waiters[i]!;
      if (waiter.fits()) waiter.grant(); // grant() removes it from the list
      else i++;
    }
  }
}

function throttled(message: string): IsletError {
  return new IsletError('TooManyRequests', `${message}; retry later`, { headers: { 'Retry-After': String(THROTTLE_RETRY_AFTER_S) } });
}
