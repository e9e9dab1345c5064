import ivm from 'isolated-vm';
import { IsletError } from '../errors.ts';
import type { DiscardReason, FunctionErrorInfo } from '../invoke/types.ts';
import type { FunctionRecord, HandlerShape } from '../registry/types.ts';
import { describeCompileError, hostMessage, limitError } from './function-errors.ts';
import { HostBridge, type InvocationHooks, type LogSink } from './host-bridge.ts';
import type { Prelude } from './prelude/index.ts';

/** Longest a module's top-level code may run at load. */
const MODULE_EVALUATION_TIMEOUT_MS = 5_000;
const CPU_POLL_MS = 10;
/**
 * How often a running invocation's heap is sampled, so a REPORT for an isolate disposed by a
 * limit still carries a figure (a disposed isolate cannot be asked any more).
 */
const HEAP_SAMPLE_MS = 50;
/**
 * Heap statistics are read (asynchronously, never awaited) after the first invocation of an
 * isolate and then after every Nth: each read is a call into the isolate.
 */
const HEAP_SAMPLE_EVERY = 16;
/**
 * An invocation still running after this long is "slow": only then are the wall-clock deadline
 * timer and the heap sampler armed, and its executing slot freed once its thread is (most
 * invocations end sooner; one that waits on a subrequest or a timer frees its slot at once).
 */
const SLOW_INVOCATION_MS = 20;

let nextIsolateId = 1;

/** Told when isolated-vm lost control of an isolate; `functionName` once one is bound. */
export type CatastrophicHandler = (message: string, functionName: string | undefined) => void;

/** How one run inside the isolate ended. `killed` means the isolate is gone. */
export type IsolateRun =
  | { ok: true; value: unknown }
  | { ok: false; error: FunctionErrorInfo; killed?: DiscardReason };

/**
 * Per-function-revision module code cache, shared by the isolates of one pool. Produced on the
 * second compile only: a function that never scales past one isolate never pays for it.
 */
export interface ModuleCache { data?: ivm.ExternalCopy<ArrayBuffer>; compiles?: number }

interface Api {
  configure: ivm.Reference;
  warmup: ivm.Reference;
  setModule: ivm.Reference;
  invoke: ivm.Reference;
  barrier: ivm.Reference;
  settle: ivm.Reference;
  fire: ivm.Reference;
  complete: ivm.Reference;
}

/**
 * One V8 isolate with one context: the web prelude and host bridge installed, then (after
 * `load`) one function's module. Runs one invocation at a time. Every call into it uses
 * isolated-vm's async API, so it runs on isolated-vm's thread pool, not on Node's main thread.
 */
const INVOKE_OPTIONS = { arguments: { copy: true }, result: { promise: true, copy: true } } as const;

export class FunctionIsolate {
  readonly id = nextIsolateId++;
  readonly memoryMb: number;
  #isolate: ivm.Isolate;
  #context: ivm.Context;
  #api: Api;
  #bridge: HostBridge;
  #killReason: DiscardReason | undefined;
  #settled = false;
  /** The running invocation's hooks (its deadline, cpuMs) while its guards are armed. */
  #hooks: InvocationHooks | undefined;
  /** One timer per invocation: first the "slow" mark, then the wall-clock deadline. */
  #timer: NodeJS.Timeout | undefined;
  #cpuPoll: NodeJS.Timeout | undefined;
  #startCpuNs = 0n;
  #heapSample: NodeJS.Timeout | undefined;
  /** Frees the running invocation's executing slot (idempotent), until its synchronous part is over. */
  #freeSlot: (() => void) | undefined;
  #barrierSent = false;
  #invocations = 0;
  /** The heap read after the module loaded, until the first invocation has waited for it. */
  #loadSample: Promise<void> | undefined;
  #shape: HandlerShape | undefined;
  /** The function bound by `load`. */
  functionName: string | undefined;
  /** Heap used after the last invocation (or the largest sample of one a limit ended), bytes. */
  heapUsedBytes = 0;
  /** Largest heap sample of the running invocation, bytes. */
  #peakHeapBytes = 0;

  private constructor(isolate: ivm.Isolate, context: ivm.Context, memoryMb: number) {
    this.#isolate = isolate;
    this.#context = context;
    this.memoryMb = memoryMb;
    this.#api = undefined as unknown as Api;
    this.#bridge = new HostBridge({
      get disposed() { return isolate.isDisposed; },
      fire: () => this.#api.fire.applyIgnored(undefined, []),
      waiting: () => this.#sendBarrier(),
      complete: (id, value) => this.#api.complete.applyIgnored(undefined, [id, new ivm.ExternalCopy(value).copyInto({ release: true })]),
    });
  }

  /** Creates an isolate with the prelude and host bridge installed, not yet bound to a function. */
  static async create(prelude: Prelude, memoryMb: number, onCatastrophicError: CatastrophicHandler): Promise<FunctionIsolate> {
    // The handler names the function the isolate serves by then (spares are bound later).
    let self: FunctionIsolate | undefined;
    const isolate = new ivm.Isolate({ memoryLimit: memoryMb, onCatastrophicError: (message) => onCatastrophicError(message, self?.functionName) });
    try {
      const context = await isolate.createContext();
      const created = new FunctionIsolate(isolate, context, memoryMb);
      self = created;
      await created.#bootstrap(prelude);
      return created;
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw err;
    }
  }

  async #bootstrap(prelude: Prelude): Promise<void> {
    const script = await prelude.compile(this.#isolate);
    const bootstrap = (await script.run(this.#context, { reference: true, timeout: MODULE_EVALUATION_TIMEOUT_MS })) as ivm.Reference;
    script.release();
    // Host callbacks become plain functions inside the isolate; the bootstrap captures them
    // in its closure and hands back an api object that only this host holds.
    const api = (await bootstrap.apply(undefined, this.#bridge.callbacks(),
      { result: { reference: true }, timeout: MODULE_EVALUATION_TIMEOUT_MS })) as ivm.Reference;
    bootstrap.release();
    const get = (name: keyof Api) => api.get(name, { reference: true }) as Promise<ivm.Reference>;
    const [configure, warmup, setModule, invoke, barrier, settle, fire, complete] = await Promise.all(
      (['configure', 'warmup', 'setModule', 'invoke', 'barrier', 'settle', 'fire', 'complete'] as const).map(get));
    api.release();
    this.#api = { configure: configure!, warmup: warmup!, setModule: setModule!, invoke: invoke!, barrier: barrier!, settle: settle!, fire: fire!, complete: complete! };
  }

  /** Runs the request/response paths once so their code is compiled before a cold invocation needs it. */
  async warmup(): Promise<void> {
    await this.#api.warmup.apply(undefined, [], { result: { promise: true }, timeout: MODULE_EVALUATION_TIMEOUT_MS });
  }

  /** The handler shape after `load`. */
  get shape(): HandlerShape | undefined { return this.#shape; }
  get disposed(): boolean { return this.#isolate.isDisposed; }

  /**
   * Binds the isolate to one function: its env and identity, then compiles, links and runs its
   * module. Throws IsletError InvalidCode (syntax error, imports, top-level throw, no handler).
   */
  async load(record: Pick<FunctionRecord, 'name' | 'code' | 'version' | 'config'>, cache: ModuleCache,
    log: { init: LogSink; idle: LogSink }): Promise<{ handlerShape: HandlerShape; exports: string[] }> {
    this.functionName = record.name;
    this.#bridge.fallbackLog = log.init;
    try {
      return await this.#load(record, cache);
    } finally {
      this.#bridge.fallbackLog = log.idle;
    }
  }

  async #load(record: Pick<FunctionRecord, 'name' | 'code' | 'version' | 'config'>, cache: ModuleCache): Promise<{ handlerShape: HandlerShape; exports: string[] }> {
    await this.#api.configure.apply(undefined, [new ivm.ExternalCopy({
      name: record.name,
      version: record.version,
      memoryLimitMb: this.memoryMb,
      env: record.config.env,
      arn: `arn:islet:function:${record.name}:${record.version}`,
      logStream: `${new Date().toISOString().slice(0, 10)}/[${record.version}]/${this.id}`,
    }).copyInto({ release: true })]);

    const filename = `file:///${record.name}.js`;
    let module: ivm.Module;
    try {
      const compiles = cache.compiles ?? 0;
      cache.compiles = compiles + 1;
      module = await this.#isolate.compileModule(record.code, cache.data !== undefined ? { filename, cachedData: cache.data }
        : compiles === 0 ? { filename } : { filename, produceCachedData: true });
    } catch (err) {
      throw new IsletError('InvalidCode', describeCompileError(err, record.name));
    }
    const produced = (module as ivm.Module & ivm.CachedDataResult).cachedData;
    if (cache.data === undefined && produced !== undefined) cache.data = produced;
    if (module.dependencySpecifiers.length > 0) {
      throw new IsletError('InvalidCode',
        `imports are not supported: bundle the function into one module (it imports ${JSON.stringify(module.dependencySpecifiers[0])})`);
    }
    try {
      await module.instantiate(this.#context, () => { throw new Error('imports are not supported'); });
      await module.evaluate({ timeout: MODULE_EVALUATION_TIMEOUT_MS });
    } catch (err) {
      const reason = this.#isolate.isDisposed ? 'went over its memory limit while loading' : 'threw while loading';
      throw new IsletError('InvalidCode', `the module ${reason}: ${hostMessage(err)}`);
    }
    let found: { shape: HandlerShape | null; exports: string[] };
    try {
      found = (await this.#api.setModule.apply(undefined, [module.namespace.derefInto()], { result: { copy: true } })) as typeof found;
    } catch (err) {
      // Reading an export still in its temporal dead zone: top-level code never got that far.
      throw new IsletError('InvalidCode', `the module's exports cannot be read (a top-level await that never settles?): ${hostMessage(err)}`);
    }
    module.release();
    if (found.shape === null) {
      throw new IsletError('InvalidCode',
        'no handler found: export default { fetch(request, env, ctx) { … } } or export async function handler(event, context)'
        + (found.exports.length > 0 ? ` (the module exports ${found.exports.join(', ')})` : ''));
    }
    // Timers set by top-level code never fire (as on Workers): nothing may run between invocations.
    this.#bridge.clearTimers();
    this.#shape = found.shape;
    // Not awaited here (off the cold path): the first figure a REPORT can fall back on when the
    // first invocation ends in a limit. invoke() waits for it before it starts the first run.
    this.#loadSample = this.#isolate.getHeapStatistics().then((h) => { if (this.heapUsedBytes === 0) this.heapUsedBytes = h.used_heap_size; }, () => {});
    return { handlerShape: found.shape, exports: found.exports };
  }

  /**
   * Runs one invocation with ONE call into the isolate (start and wait fused): the handler's
   * synchronous part runs under isolated-vm's timeout, and the call resolves with the outcome.
   * The caller holds an executing slot (the executing-isolates cap) and frees it once the call
   * answered and the isolate is back in its pool; `freeSlot` (idempotent) frees it earlier when
   * a barrier call (queued behind the running task, answered only once the isolate's thread is
   * free again) comes back, sent when the invocation sets a timer, makes a subrequest or still
   * runs after SLOW_INVOCATION_MS. Awaiting I/O therefore holds no slot, and a quick invocation
   * costs one call. The wall-clock deadline covers the whole run; a run that hits a limit
   * disposes the isolate.
   */
  async invoke(data: Record<string, unknown>, hooks: InvocationHooks, freeSlot: () => void): Promise<IsolateRun> {
    this.#bridge.begin(hooks);
    this.#settled = false;
    this.#peakHeapBytes = 0;
    this.#hooks = hooks;
    this.#barrierSent = false;
    this.#freeSlot = freeSlot;
    if (hooks.cpuMs !== undefined) this.#startCpuPoll(hooks.cpuMs);
    if (this.#loadSample !== undefined) {
      // A run that spins in microtasks never answers a heap read: have the load figure first.
      await this.#loadSample;
      this.#loadSample = undefined;
    }
    try {
      // Its whole budget went waiting for the slot: a timeout, as if the deadline had fired.
      if (hooks.deadline <= Date.now()) this.#kill('timeout');
      if (this.#isolate.isDisposed) throw new Error('the isolate was disposed before the invocation started');
      const call = this.#api.invoke.apply(undefined, [data], { ...INVOKE_OPTIONS, timeout: Math.max(1, Math.ceil(hooks.deadline - Date.now())) });
      this.#timer = setTimeout(this.#onSlow, Math.min(SLOW_INVOCATION_MS, Math.max(0, hooks.deadline - Date.now())));
      const run = (await call) as IsolateRun & { settled?: boolean };
      this.#freeSlot = undefined;
      if (run.settled === true) {
        this.#stopGuards();
        this.#bridge.end();
        this.#settled = true;
      }
      if (++this.#invocations % HEAP_SAMPLE_EVERY === 1 || this.heapUsedBytes === 0) await this.#sampleHeap(this.heapUsedBytes === 0);
      return run;
    } catch (err) {
      this.#freeSlot = undefined;
      this.#stopGuards();
      return this.#killed(err, hooks);
    }
  }

  /** True when the last invocation left no background work: the isolate can be reused at once. */
  get settled(): boolean { return this.#settled; }

  /**
   * Waits for `ctx.waitUntil()` work (still under the deadline), then drops the invocation's
   * timers and subrequests. Answers whether the isolate can serve another invocation.
   */
  async settle(): Promise<boolean> {
    if (this.#settled) return !this.#isolate.isDisposed;
    try {
      if (this.#isolate.isDisposed) return false;
      await this.#api.settle.apply(undefined, [], { result: { promise: true } });
      return !this.#isolate.isDisposed;
    } catch {
      if (!this.#isolate.isDisposed) this.#kill(this.#killReason ?? 'crash');
      return false;
    } finally {
      this.#stopGuards();
      this.#bridge.end();
    }
  }

  /** Why the isolate was disposed by a limit, if it was. */
  get killReason(): DiscardReason | undefined { return this.#killReason; }

  /** Disposes the isolate (idempotent). */
  dispose(): void {
    this.#bridge.end();
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
  }

  /**
   * Reads the heap statistics into `heapUsedBytes`. Not awaited on the hot path (`wait` false):
   * a REPORT carries the latest figure that came back.
   */
  #sampleHeap(wait: boolean): Promise<void> | undefined {
    const read = this.#isolate.getHeapStatistics().then((h) => { this.heapUsedBytes = h.used_heap_size; }, () => {});
    return wait ? read : undefined;
  }

  /** The invocation has run for SLOW_INVOCATION_MS: arm the deadline and the heap sampler, free the slot once the isolate's thread is. */
  #onSlow = (): void => {
    const hooks = this.#hooks;
    if (hooks === undefined) return;
    this.#timer = setTimeout(this.#onDeadline, Math.max(0, hooks.deadline - Date.now()));
    this.#heapSample ??= setInterval(this.#onHeapSample, HEAP_SAMPLE_MS);
    this.#sendBarrier();
  };

  #onDeadline = (): void => { this.#kill('timeout'); };

  #onHeapSample = (): void => {
    if (this.#isolate.isDisposed) return;
    // Async: a runaway isolate must never block the main thread on its lock.
    this.#isolate.getHeapStatistics().then((h) => { this.#peakHeapBytes = Math.max(this.#peakHeapBytes, h.used_heap_size); }, () => {});
  };

  #startCpuPoll(cpuMs: number): void {
    this.#startCpuNs = this.#isolate.cpuTime;
    const budgetNs = BigInt(cpuMs) * 1_000_000n;
    this.#cpuPoll = setInterval(() => {
      if (!this.#isolate.isDisposed && this.#isolate.cpuTime - this.#startCpuNs > budgetNs) this.#kill('cpu');
    }, CPU_POLL_MS);
  }

  /**
   * Frees the executing slot once the isolate's current task (the synchronous part and its
   * microtasks) is over: isolated-vm runs an isolate's tasks one at a time, so a no-op call
   * queued now is answered only then. Sent at most once per invocation.
   */
  #sendBarrier(): void {
    const freeSlot = this.#freeSlot;
    if (freeSlot === undefined || this.#barrierSent || this.#isolate.isDisposed) return;
    this.#barrierSent = true;
    // `freeSlot` belongs to this invocation and is idempotent: a late answer frees nothing else.
    this.#api.barrier.apply(undefined, []).then(freeSlot, freeSlot);
  }

  /** Disarms the invocation's deadline, CPU poller and heap sampler. */
  #stopGuards(): void {
    this.#hooks = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#heapSample !== undefined) clearInterval(this.#heapSample);
    this.#heapSample = undefined;
    if (this.#cpuPoll !== undefined) clearInterval(this.#cpuPoll);
    this.#cpuPoll = undefined;
  }

  #kill(reason: DiscardReason): void {
    this.#killReason ??= reason;
    this.dispose();
  }

  #killed(err: unknown, hooks: InvocationHooks): IsolateRun {
    const message = hostMessage(err);
    // The isolate is gone: its last sample is the best figure the REPORT can have.
    if (this.#peakHeapBytes > 0) this.heapUsedBytes = this.#peakHeapBytes;
    let reason = this.#killReason;
    // Still alive and no limit hit: function code left an exception or a rejection unhandled,
    // which isolated-vm raises at the end of the task. Like a Node runtime, the isolate goes.
    const unhandled = reason === undefined && !this.#isolate.isDisposed && !/execution timed out/i.test(message);
    if (reason === undefined) {
      if (/memory limit/i.test(message)) reason = 'memory';
      else if (/execution timed out/i.test(message)) reason = 'timeout';
      else reason = 'crash';
    }
    this.#kill(reason);
    if (unhandled) {
      return { ok: false, killed: reason, error: { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: message, trace: [] } };
    }
    return { ok: false, killed: reason, error: limitError(reason, { ...(hooks.cpuMs === undefined ? {} : { cpuMs: hooks.cpuMs }), memoryMb: this.memoryMb }, message) };
  }
}
