import type { DiscardReason, LogEntry } from '../invoke/types.ts';
import type { FunctionRecord } from '../registry/types.ts';
import type { LogWriter } from './host-bridge.ts';
import type { FunctionIsolate, ModuleCache } from './isolate.ts';

/** What a pool needs from the runtime around it. */
export interface PoolHost {
  /** A fresh isolate with the prelude run (maybe a pre-created spare). */
  createIsolate(memoryMb: number): Promise<FunctionIsolate>;
  /** Runs CPU-heavy work (isolate creation, module evaluation) under the executing cap. */
  gate<T>(work: () => Promise<T>): Promise<T>;
  /** Console output outside of any invocation (module top level, late timers). */
  initLog(record: FunctionRecord, level: LogEntry['level'], message: string): void;
  /** An isolate went idle (true) or was taken / disposed (false): the global warm LRU tracks it. */
  trackIdle(pool: FunctionPool, isolate: FunctionIsolate, idle: boolean): void;
  onDiscard(functionName: string, reason: DiscardReason): void;
}

/** An isolate lent to one invocation. */
export interface Lease {
  isolate: FunctionIsolate;
  /** Set on a cold start: isolate creation + prelude + module evaluation, ms. */
  initDurationMs?: number;
}

/**
 * The isolates of one function revision. Grows with concurrent demand (one invocation per
 * isolate), keeps idle ones warm until they pass the idle TTL (minWarm stay), and once retired
 * (redeploy, delete) disposes each isolate as soon as its in-flight invocation finishes.
 */
export class FunctionPool {
  readonly record: FunctionRecord;
  #host: PoolHost;
  #idle: FunctionIsolate[] = [];
  #lastUsed = new Map<FunctionIsolate, number>();
  #busy = new Set<FunctionIsolate>();
  #cache: ModuleCache = {};
  #retired = false;

  constructor(record: FunctionRecord, host: PoolHost) {
    this.record = record;
    this.#host = host;
  }

  get warm(): number { return this.#idle.length + this.#busy.size; }
  get busy(): number { return this.#busy.size; }
  get retired(): boolean { return this.#retired; }
  get empty(): boolean { return this.warm === 0; }

  /**
   * Lends an isolate: the most recently used idle one, or a new one (cold start), whose
   * module's top-level console output goes to `initLog` (the invocation that caused it).
   * `holdsSlot`: the caller already holds an executing slot, which a cold start then uses
   * (instead of taking another one through `gate`).
   */
  async acquire(initLog?: LogWriter, holdsSlot = false): Promise<Lease> {
    const isolate = this.#idle.pop();
    if (isolate !== undefined) {
      this.#lastUsed.delete(isolate);
      this.#host.trackIdle(this, isolate, false);
      this.#busy.add(isolate);
      return { isolate };
    }
    const started = performance.now();
    const fresh = await this.#create(initLog, holdsSlot);
    this.#busy.add(fresh);
    return { isolate: fresh, initDurationMs: performance.now() - started };
  }

  /** Takes an isolate back; an unhealthy one (or any, once retired) is disposed. */
  release(isolate: FunctionIsolate, healthy: boolean): void {
    this.#busy.delete(isolate);
    if (!healthy || isolate.disposed) {
      isolate.dispose();
      this.#host.onDiscard(this.record.name, isolate.killReason ?? 'crash');
      return;
    }
    if (this.#retired) {
      isolate.dispose();
      this.#host.onDiscard(this.record.name, 'redeploy');
      return;
    }
    this.#idle.push(isolate);
    this.#lastUsed.set(isolate, Date.now());
    this.#host.trackIdle(this, isolate, true);
  }

  /** Creates isolates until `minWarm` are warm (provisioned concurrency). */
  async fillMinWarm(): Promise<void> {
    const want = this.record.config.minWarm ?? 0;
    while (!this.#retired && this.warm < want) {
      const isolate = await this.#create();
      if (this.#retired) {
        isolate.dispose();
        return;
      }
      this.#idle.unshift(isolate);
      this.#lastUsed.set(isolate, Date.now());
      this.#host.trackIdle(this, isolate, true);
    }
  }

  /** Disposes idle isolates unused for `idleTtlMs`, keeping `minWarm`. */
  sweep(now: number, idleTtlMs: number): void {
    const keep = this.#retired ? 0 : this.record.config.minWarm ?? 0;
    // #idle is ordered oldest first (release pushes, acquire pops the newest).
    while (this.#idle.length > 0 && this.warm > keep) {
      const oldest = this.#idle[0]!;
      if (now - (this.#lastUsed.get(oldest) ?? 0) < idleTtlMs) break;
      this.#drop(oldest, 'idle');
    }
  }

  /** Drops one idle isolate for the global warm cap. */
  evict(isolate: FunctionIsolate): void {
    if (this.#idle.includes(isolate)) this.#drop(isolate, 'evicted');
  }

  /** Stops lending: idle isolates go now, busy ones when their invocation ends. */
  retire(): void {
    this.#retired = true;
    for (const isolate of [...this.#idle]) this.#drop(isolate, 'redeploy');
  }

  /** Disposes everything, busy isolates included (shutdown). */
  dispose(): void {
    this.retire();
    for (const isolate of this.#busy) isolate.dispose();
    this.#busy.clear();
  }

  heapUsedBytes(): number {
    let sum = 0;
    for (const isolate of this.#idle) sum += isolate.heapUsedBytes;
    for (const isolate of this.#busy) sum += isolate.heapUsedBytes;
    return sum;
  }

  #drop(isolate: FunctionIsolate, reason: DiscardReason): void {
    const at = this.#idle.indexOf(isolate);
    if (at >= 0) this.#idle.splice(at, 1);
    this.#lastUsed.delete(isolate);
    this.#host.trackIdle(this, isolate, false);
    isolate.dispose();
    this.#host.onDiscard(this.record.name, reason);
  }

  async #create(initLog?: LogWriter, holdsSlot = false): Promise<FunctionIsolate> {
    const record = this.record;
    const create = async () => {
      const isolate = await this.#host.createIsolate(record.config.memoryMb);
      try {
        const idle = (level: LogEntry['level'], message: string) => this.#host.initLog(record, level, message);
        const init = initLog === undefined ? idle : (level: LogEntry['level'], message: string) => { initLog.write(level, message); };
        await isolate.load(record, this.#cache, { init, idle });
        return isolate;
      } catch (err) {
        isolate.dispose();
        throw err;
      }
    };
    return holdsSlot ? create() : this.#host.gate(create);
  }
}
