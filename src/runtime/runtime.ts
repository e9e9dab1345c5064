import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import {
  DEFAULT_IDLE_TTL_MS, DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_EXECUTING, DEFAULT_MAX_LOG_BYTES_PER_INVOCATION,
  DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_SUBREQUESTS, DEFAULT_MAX_WARM_ISOLATES,
  DEFAULT_MEMORY_MB, DEFAULT_QUEUE_WAIT_MS, MAX_CODE_BYTES,
} from '../defaults.ts';
import { IsletError, isIsletError } from '../errors.ts';
import { toIsolateInput } from '../invoke/payload.ts';
import type {
  CodeValidator, DiscardReason, InvocationObserver, InvocationPayload, InvocationResult, InvokeOptions, Invoker, RuntimeStats,
} from '../invoke/types.ts';
import { flushLogger, type Logger } from '../observability/logger.ts';
import type { FunctionRecord } from '../registry/types.ts';
import { initError } from './function-errors.ts';
import type { InvocationHooks } from './host-bridge.ts';
import type { FunctionIsolate } from './isolate.ts';
import { ConcurrencyLimiter, Semaphore } from './limits.ts';
import { InvocationLog } from './log-capture.ts';
import { FunctionPool, type Lease, type PoolHost } from './pool.ts';
import { Prelude } from './prelude/index.ts';
import { finishInvocation, invocationEnd } from './report.ts';
import { SpareIsolates } from './spares.ts';

/**
 * The signal the process sends itself after isolated-vm reports a catastrophic error (exit
 * status 137 to a shell): a supervisor restarts the process.
 */
export const CATASTROPHIC_EXIT_SIGNAL = 'SIGKILL';
/** Longest the fatal log line may take to be written before the process kills itself. */
const CATASTROPHIC_FLUSH_MS = 1_000;
/** How long close() lets in-flight invocations finish before it disposes their isolates. */
const CLOSE_GRACE_MS = 10_000;

/** Options of {@link FunctionRuntime}. */
export interface FunctionRuntimeOptions {
  /** Looks a function up (the registry). Called on every invocation, so it should be cached. */
  getFunction(name: string): Promise<FunctionRecord | undefined>;
  log: Logger;
  observer?: InvocationObserver;
  /** In-flight invocations across the process (ISLET_MAX_CONCURRENCY). @default DEFAULT_MAX_CONCURRENCY */
  maxConcurrency?: number;
  /** Isolates running JavaScript at once (ISLET_MAX_EXECUTING). @default DEFAULT_MAX_EXECUTING */
  maxExecuting?: number;
  /** Idle warm isolates kept across all functions (ISLET_MAX_WARM_ISOLATES). @default DEFAULT_MAX_WARM_ISOLATES */
  maxWarmIsolates?: number;
  /** An isolate idle this long is disposed (ISLET_IDLE_TTL_MS). @default DEFAULT_IDLE_TTL_MS */
  idleTtlMs?: number;
  /** Response cap (ISLET_MAX_RESPONSE_BYTES); also caps a subrequest's response body. @default DEFAULT_MAX_RESPONSE_BYTES */
  maxResponseBytes?: number;
  /** A subrequest's request-body cap (ISLET_MAX_REQUEST_BYTES). @default DEFAULT_MAX_REQUEST_BYTES */
  maxRequestBytes?: number;
  /** Longest an invocation waits for a concurrency slot before TooManyRequests. @default DEFAULT_QUEUE_WAIT_MS */
  queueWaitMs?: number;
  /** fetch() calls one invocation may make. @default DEFAULT_MAX_SUBREQUESTS */
  maxSubrequests?: number;
  /** Console bytes kept per invocation. @default DEFAULT_MAX_LOG_BYTES_PER_INVOCATION */
  maxLogBytes?: number;
  /** Pre-created isolates (prelude already run) kept for the default memory size, for fast cold starts. @default 2 */
  spareIsolates?: number;
}

/**
 * Runs functions in V8 isolates: a pool per function revision, concurrency limits, wall-clock,
 * memory and CPU limits, console capture and one REPORT per invocation. The one `Invoker`.
 */
export class FunctionRuntime implements Invoker {
  #getFunction: FunctionRuntimeOptions['getFunction'];
  #log: Logger;
  #observer: InvocationObserver | undefined;
  #limits: Required<Omit<FunctionRuntimeOptions, 'getFunction' | 'log' | 'observer'>>;
  #prelude = new Prelude();
  #limiter: ConcurrencyLimiter;
  #executing: Semaphore;
  #pools = new Map<string, FunctionPool>();
  #retired = new Set<FunctionPool>();
  #warm: LRUCache<number, { pool: FunctionPool; isolate: FunctionIsolate }> | undefined;
  #spares: SpareIsolates;
  #sweeper: NodeJS.Timeout;
  #settling = new Set<Promise<void>>();
  /** invoke() calls not yet answered; close() lets them finish. */
  #active = 0;
  /** Resolves close()'s wait once #active drops to 0. */
  #drained: (() => void) | undefined;
  #closed = false;
  #poolHost: PoolHost;

  constructor(options: FunctionRuntimeOptions) {
    this.#getFunction = options.getFunction;
    this.#log = options.log;
    this.#observer = options.observer;
    this.#limits = {
      maxConcurrency: options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
      maxExecuting: options.maxExecuting ?? DEFAULT_MAX_EXECUTING,
      maxWarmIsolates: options.maxWarmIsolates ?? DEFAULT_MAX_WARM_ISOLATES,
      idleTtlMs: options.idleTtlMs ?? DEFAULT_IDLE_TTL_MS,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      maxRequestBytes: options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
      queueWaitMs: options.queueWaitMs ?? DEFAULT_QUEUE_WAIT_MS,
      maxSubrequests: options.maxSubrequests ?? DEFAULT_MAX_SUBREQUESTS,
      maxLogBytes: options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES_PER_INVOCATION,
      spareIsolates: options.spareIsolates ?? 2,
    };
    this.#limiter = new ConcurrencyLimiter(this.#limits.maxConcurrency);
    this.#executing = new Semaphore(this.#limits.maxExecuting);
    if (this.#limits.maxWarmIsolates > 0) {
      this.#warm = new LRUCache({
        max: this.#limits.maxWarmIsolates,
        // The coldest idle isolate goes when the cap is reached.
        disposeAfter: (entry, _id, reason) => { if (reason === 'evict') entry.pool.evict(entry.isolate); },
      });
    }
    this.#spares = new SpareIsolates({
      prelude: this.#prelude, count: this.#limits.spareIsolates, gate: (work) => this.#executing.run(work),
      onCatastrophicError: (message, functionName) => this.#catastrophic(message, functionName), log: this.#log,
    });
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(10_000, Math.max(250, this.#limits.idleTtlMs / 4)));
    this.#sweeper.unref();
    this.#poolHost = {
      createIsolate: (memoryMb) => this.#spares.create(memoryMb),
      gate: (work) => this.#executing.run(work),
      initLog: (record, level, message) => {
        const entry = { time: new Date().toISOString(), functionName: record.name, requestId: '-', level, message };
        this.#observer?.onLog?.(entry);
        this.#log[level]({ fn: record.name, requestId: '-' }, message);
      },
      trackIdle: (pool, isolate, idle) => this.#trackIdle(pool, isolate, idle),
      onDiscard: (functionName, reason) => this.#onDiscard(functionName, reason),
    };
  }

  /** Checks a module at deploy in a throwaway isolate. Throws IsletError InvalidCode. */
  readonly validateCode: CodeValidator = async (code) => {
    if (Buffer.byteLength(code) > MAX_CODE_BYTES) throw new IsletError('InvalidCode', `the code is over ${MAX_CODE_BYTES} bytes`);
    return this.#executing.run(async () => {
      const isolate = await this.#spares.create(DEFAULT_MEMORY_MB);
      try {
        const drop = () => {};
        return await isolate.load({ name: 'index', code, version: '$LATEST', config: { memoryMb: DEFAULT_MEMORY_MB, timeoutMs: 0, env: {} } },
          {}, { init: drop, idle: drop });
      } finally {
        isolate.dispose();
        this.#spares.refillSoon();
      }
    });
  };

  invoke(name: string, payload: InvocationPayload, options: InvokeOptions): Promise<InvocationResult> {
    if (this.#closed) return Promise.reject(new IsletError('ShuttingDown', 'the server is shutting down'));
    this.#active++;
    const running = this.#invoke(name, payload, options);
    running.then(this.#invokeDone, this.#invokeDone);
    return running;
  }

  #invokeDone = (): void => {
    if (--this.#active === 0 && this.#drained !== undefined) {
      const drained = this.#drained;
      this.#drained = undefined;
      drained();
    }
  };

  async #invoke(name: string, payload: InvocationPayload, options: InvokeOptions): Promise<InvocationResult> {
    const record = await this.#getFunction(name);
    if (record === undefined) throw new IsletError('FunctionNotFound', `function ${name} does not exist`);
    this.#limiter.setReservation(name, record.config.reservedConcurrency);
    let releaseSlot: () => void;
    try {
      releaseSlot = await this.#limiter.acquire(name, this.#limits.queueWaitMs, options.signal);
    } catch (err) {
      if (isIsletError(err, 'TooManyRequests')) {
        this.#observer?.onThrottle?.({ functionName: name, trigger: options.trigger });
        this.#log.warn({ fn: name, trigger: options.trigger }, 'invocation throttled');
      }
      throw err;
    }
    const requestId = options.requestId ?? randomUUID();
    const log = new InvocationLog({
      functionName: name, requestId, log: this.#log, observer: this.#observer, maxBytes: this.#limits.maxLogBytes, keepTail: options.logTail === true,
    });
    const startedAt = new Date();
    const context = { record, trigger: options.trigger, requestId, log, keepTail: options.logTail === true, logger: this.#log, observer: this.#observer };
    let settled = false;
    let freeSlot: (() => void) | undefined;
    try {
      const pool = this.#poolFor(record);
      // The executing slot comes first, then the isolate: an invocation queued for CPU holds no
      // isolate, so a pool grows with what runs or awaits I/O, not with the queue (32 callers of
      // a quick function share a few isolates, each warm and well optimised by V8). The wait
      // counts against the timeout and the duration, as it did when the isolate waited for it.
      const queuedAt = performance.now();
      await this.#executing.acquire();
      const queuedMs = performance.now() - queuedAt;
      let slotHeld = true;
      freeSlot = () => {
        if (!slotHeld) return;
        slotHeld = false;
        this.#executing.release();
      };
      let lease: Lease;
      try {
        lease = await pool.acquire(log, true);
      } catch (err) {
        freeSlot();
        // START/END/REPORT stay paired: a failed cold start is an invocation too.
        this.#observer?.onStart?.({ requestId, functionName: name, trigger: options.trigger, cold: true, version: record.version });
        return finishInvocation(context, { startedAt, durationMs: 0, memoryUsedMb: 0 }, { outcome: 'error', error: initError(err) });
      }
      this.#observer?.onStart?.({ requestId, functionName: name, trigger: options.trigger, cold: lease.initDurationMs !== undefined, version: record.version });
      const runStart = performance.now() - queuedMs;
      const deadline = Date.now() + record.config.timeoutMs - Math.round(queuedMs);
      const input = toIsolateInput(lease.isolate.shape ?? record.handlerShape, payload,
        { requestId, deadline, maxResponseBytes: this.#limits.maxResponseBytes });
      const hooks: InvocationHooks = {
        functionName: name, requestId, deadline, cpuMs: record.config.cpuMs, maxSubrequests: this.#limits.maxSubrequests,
        maxRequestBytes: this.#limits.maxRequestBytes, maxResponseBytes: this.#limits.maxResponseBytes, log,
      };
      const run = await lease.isolate.invoke(input, hooks, freeSlot);
      const durationMs = performance.now() - runStart;
      const end = invocationEnd(run, lease.isolate.shape ?? record.handlerShape, payload, this.#limits.maxResponseBytes);
      settled = true;
      if (lease.isolate.settled || lease.isolate.disposed) {
        // Nothing left running in the isolate: hand it back now, so the next call finds it warm.
        pool.release(lease.isolate, !lease.isolate.disposed);
        if (pool.retired && pool.empty) this.#retired.delete(pool);
        releaseSlot();
      } else {
        this.#settleInBackground(lease, pool, releaseSlot);
      }
      // Only now: a caller waiting for the slot finds this isolate idle instead of starting one.
      freeSlot();
      // A memory kill used the whole limit; otherwise the isolate's latest heap figure.
      const memoryUsedMb = !run.ok && run.killed === 'memory' ? record.config.memoryMb : Math.ceil(lease.isolate.heapUsedBytes / 1_048_576);
      if (lease.initDurationMs !== undefined) this.#spares.refillSoon();
      return finishInvocation(context, { startedAt, durationMs, initDurationMs: lease.initDurationMs, memoryUsedMb }, end);
    } finally {
      freeSlot?.();
      if (!settled) releaseSlot();
    }
  }

  /** waitUntil() work and timers finish in the background; the slot frees once they do. */
  #settleInBackground(lease: Lease, pool: FunctionPool, releaseSlot: () => void): void {
    const settling = lease.isolate.settle().then((healthy) => {
      pool.release(lease.isolate, healthy);
      if (pool.retired && pool.empty) this.#retired.delete(pool);
    }).catch((err: unknown) => this.#log.error({ err, fn: pool.record.name }, 'releasing an isolate failed')).finally(() => {
      releaseSlot();
      this.#settling.delete(settling);
    });
    this.#settling.add(settling);
  }

  /**
   * A function was created, updated or deleted: its pools retire (new invocations get the new
   * code, in-flight ones finish on the old isolates, which are disposed afterwards), and
   * `minWarm` isolates of the new revision are started. Call it at startup for each function
   * with `minWarm` to provision them. Never rejects.
   */
  async onFunctionChanged(name: string): Promise<void> {
    const pool = this.#pools.get(name);
    if (pool !== undefined) this.#retire(pool);
    try {
      const record = await this.#getFunction(name);
      this.#limiter.setReservation(name, record?.config.reservedConcurrency);
      if (record !== undefined && (record.config.minWarm ?? 0) > 0 && !this.#closed) {
        await this.#poolFor(record).fillMinWarm();
        this.#spares.refillSoon();
      }
    } catch (err) {
      // Never rejects: callers fire this from a registry watch without awaiting it.
      this.#log.warn({ err, fn: name }, 'could not apply a function change (minWarm isolates not started)');
    }
  }

  stats(): RuntimeStats {
    const perFunction = new Map<string, { functionName: string; warm: number; busy: number }>();
    let warmIsolates = 0;
    let heapUsedBytes = 0;
    for (const pool of [...this.#pools.values(), ...this.#retired]) {
      const entry = perFunction.get(pool.record.name) ?? { functionName: pool.record.name, warm: 0, busy: 0 };
      entry.warm += pool.warm;
      entry.busy += pool.busy;
      perFunction.set(pool.record.name, entry);
      warmIsolates += pool.warm;
      heapUsedBytes += pool.heapUsedBytes();
    }
    return { warmIsolates, executing: this.#executing.used, inFlight: this.#limiter.inFlight, heapUsedBytes, perFunction: [...perFunction.values()] };
  }

  /** Stops taking invocations, lets in-flight ones finish (up to a grace period), disposes every isolate. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      (async () => {
        if (this.#active > 0) await new Promise<void>((resolve) => { this.#drained = resolve; });
        await Promise.allSettled([...this.#settling]);
      })(),
      new Promise((resolve) => { timer = setTimeout(resolve, CLOSE_GRACE_MS); }),
    ]);
    clearTimeout(timer);
    for (const pool of [...this.#pools.values(), ...this.#retired]) pool.dispose();
    this.#pools.clear();
    this.#retired.clear();
    this.#warm?.clear();
    this.#spares.close();
  }

  #poolFor(record: FunctionRecord): FunctionPool {
    const current = this.#pools.get(record.name);
    if (current !== undefined && current.record.revision === record.revision && current.record.codeSha256 === record.codeSha256) return current;
    if (current !== undefined) this.#retire(current);
    const pool = new FunctionPool(record, this.#poolHost);
    this.#pools.set(record.name, pool);
    return pool;
  }

  #retire(pool: FunctionPool): void {
    if (this.#pools.get(pool.record.name) === pool) this.#pools.delete(pool.record.name);
    pool.retire();
    if (!pool.empty) this.#retired.add(pool);
  }

  #trackIdle(pool: FunctionPool, isolate: FunctionIsolate, idle: boolean): void {
    if (!idle) {
      this.#warm?.delete(isolate.id);
      return;
    }
    if (this.#warm === undefined) pool.evict(isolate);
    else this.#warm.set(isolate.id, { pool, isolate });
  }

  #sweep(): void {
    const now = Date.now();
    for (const pool of this.#pools.values()) pool.sweep(now, this.#limits.idleTtlMs);
  }

  #onDiscard(functionName: string, reason: DiscardReason): void {
    this.#observer?.onIsolateDiscard?.({ functionName, reason });
    if (reason !== 'idle' && reason !== 'evicted' && reason !== 'redeploy') {
      this.#log.warn({ fn: functionName, reason }, 'isolate discarded');
    }
  }

  #catastrophic(message: string, functionName: string | undefined): void {
    // isolated-vm lost control of an isolate (a builtin that ignores termination, a V8 OOM):
    // nothing in this process can be trusted any more. process.exit() would hang for ever,
    // waiting at exit for the isolate thread that never returns, so the process kills itself.
    this.#log.fatal({ reason: message, fn: functionName }, 'isolated-vm catastrophic error; killing the process so a supervisor restarts the server');
    // The event loop still runs (only the isolate's thread is lost): let the line reach the log.
    void flushLogger(this.#log, CATASTROPHIC_FLUSH_MS).then(() => process.kill(process.pid, CATASTROPHIC_EXIT_SIGNAL));
  }
}
