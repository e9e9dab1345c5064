import { randomBytes } from 'node:crypto';
import ivm from 'isolated-vm';
import { DEFAULT_SUBREQUEST_TIMEOUT_MS } from '../defaults.ts';
import { IsletError } from '../errors.ts';
import type { DiscardReason, FunctionErrorInfo, LogEntry } from '../invoke/types.ts';
import type { FunctionRecord, HandlerShape } from '../registry/types.ts';
import { describeCompileError, hostMessage, limitError } from './function-errors.ts';
import { hostFetch, type SubrequestInit } from './host-fetch.ts';
import type { Prelude } from './prelude/index.ts';

/** Longest a module's top-level code may run at load. */
const MODULE_EVALUATION_TIMEOUT_MS = 5_000;
const MAX_RANDOM_BYTES = 65_536;
const CPU_POLL_MS = 10;

let nextIsolateId = 1;

/** Where console lines go when no invocation is running (module top level, late timers). */
export type LogSink = (level: LogEntry['level'], message: string) => void;

/** Where an invocation's host calls go (console lines, subrequests). */
export interface InvocationHooks {
  functionName: string;
  requestId: string;
  /** Epoch ms when the invocation's wall-clock budget ends. */
  deadline: number;
  cpuMs?: number;
  maxSubrequests: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** Receives one console line; answers false once the log cap is reached. */
  log(level: LogEntry['level'], message: string): boolean;
}

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
  start: ivm.Reference;
  wait: ivm.Reference;
  settle: ivm.Reference;
  fire: ivm.Reference;
  complete: ivm.Reference;
}

/**
 * One V8 isolate with one context: the web prelude and host bridge installed, then (after
 * `load`) one function's module. Runs one invocation at a time. Every call into it uses
 * isolated-vm's async API, so it runs on isolated-vm's thread pool, not on Node's main thread.
 */
export class FunctionIsolate {
  readonly id = nextIsolateId++;
  readonly memoryMb: number;
  #isolate: ivm.Isolate;
  #context: ivm.Context;
  #api: Api;
  #hooks: InvocationHooks | undefined;
  #fallbackLog: LogSink;
  #timers = new Map<number, NodeJS.Timeout>();
  #subrequests = 0;
  #subrequestAbort = new AbortController();
  /** In-flight subrequests by the isolate's call id, so function code can abort them. */
  #fetches = new Map<number, AbortController>();
  #killReason: DiscardReason | undefined;
  /** Disarms the deadline/CPU guards of the invocation that settle() still has to finish. */
  #pendingGuards: (() => void) | undefined;
  #settled = false;
  #shape: HandlerShape | undefined;
  /** Heap used after the last invocation, bytes. */
  heapUsedBytes = 0;

  private constructor(isolate: ivm.Isolate, context: ivm.Context, memoryMb: number) {
    this.#isolate = isolate;
    this.#context = context;
    this.memoryMb = memoryMb;
    this.#api = undefined as unknown as Api;
    this.#fallbackLog = () => {};
  }

  /** Creates an isolate with the prelude and host bridge installed, not yet bound to a function. */
  static async create(prelude: Prelude, memoryMb: number, onCatastrophicError: (message: string) => void): Promise<FunctionIsolate> {
    const isolate = new ivm.Isolate({ memoryLimit: memoryMb, onCatastrophicError });
    try {
      const context = await isolate.createContext();
      const self = new FunctionIsolate(isolate, context, memoryMb);
      await self.#bootstrap(prelude);
      return self;
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
    const api = (await bootstrap.apply(undefined, [
      new ivm.Callback((level: string, message: string) => this.#onLog(level, message)),
      new ivm.Callback((n: number) => new Uint8Array(randomBytes(Math.min(Math.max(0, n | 0), MAX_RANDOM_BYTES)))),
      new ivm.Callback((id: number, url: string, method: string, headers: Array<[string, string]>, body: Uint8Array | null, redirect: string) => {
        this.#onFetch(id, { url, method, headers, body, redirect });
      }, { ignored: true }),
      new ivm.Callback((id: number) => this.#fetches.get(id)?.abort(), { ignored: true }),
      new ivm.Callback((id: number, ms: number) => this.#onSetTimer(id, ms), { ignored: true }),
      new ivm.Callback((id: number) => this.#onClearTimer(id), { ignored: true }),
    ], { result: { reference: true }, timeout: MODULE_EVALUATION_TIMEOUT_MS })) as ivm.Reference;
    bootstrap.release();
    const get = (name: keyof Api) => api.get(name, { reference: true }) as Promise<ivm.Reference>;
    const [configure, warmup, setModule, start, wait, settle, fire, complete] = await Promise.all(
      (['configure', 'warmup', 'setModule', 'start', 'wait', 'settle', 'fire', 'complete'] as const).map(get));
    api.release();
    this.#api = { configure: configure!, warmup: warmup!, setModule: setModule!, start: start!, wait: wait!, settle: settle!, fire: fire!, complete: complete! };
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
    this.#fallbackLog = log.init;
    try {
      return await this.#load(record, cache);
    } finally {
      this.#fallbackLog = log.idle;
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
    const found = (await this.#api.setModule.apply(undefined, [module.namespace.derefInto()], { result: { copy: true } })) as
      { shape: HandlerShape | null; exports: string[] };
    module.release();
    if (found.shape === null) {
      throw new IsletError('InvalidCode',
        'no handler found: export default { fetch(request, env, ctx) { … } } or export async function handler(event, context)'
        + (found.exports.length > 0 ? ` (the module exports ${found.exports.join(', ')})` : ''));
    }
    // Timers set by top-level code never fire (as on Workers): nothing may run between invocations.
    this.#clearTimers();
    this.#shape = found.shape;
    return { handlerShape: found.shape, exports: found.exports };
  }

  /**
   * Runs one invocation: the handler's synchronous part (bounded by isolated-vm's timeout,
   * inside `gate`, which caps concurrently executing isolates), then waits for its promise,
   * all bounded by the wall-clock deadline. A run that hits a limit disposes the isolate.
   */
  async invoke(data: Record<string, unknown>, hooks: InvocationHooks, gate: <T>(work: () => Promise<T>) => Promise<T>): Promise<IsolateRun> {
    this.#hooks = hooks;
    this.#settled = false;
    this.#subrequests = 0;
    this.#subrequestAbort = new AbortController();
    const stopGuards = this.#guard(hooks);
    try {
      await gate(() => {
        const remaining = Math.max(1, hooks.deadline - Date.now());
        return this.#api.start.apply(undefined, [new ivm.ExternalCopy(data).copyInto({ release: true })], { timeout: remaining });
      });
      const run = (await this.#api.wait.apply(undefined, [], { result: { promise: true, copy: true } })) as IsolateRun & { settled?: boolean };
      this.heapUsedBytes = await this.#isolate.getHeapStatistics().then((h) => h.used_heap_size, () => this.heapUsedBytes);
      if (run.settled === true) {
        stopGuards();
        this.#endInvocation();
        this.#settled = true;
      }
      return run;
    } catch (err) {
      stopGuards();
      return this.#killed(err, hooks);
    } finally {
      this.#pendingGuards = stopGuards;
    }
  }

  /** True when the last invocation left no background work: the isolate can be reused at once. */
  get settled(): boolean { return this.#settled; }

  /**
   * Waits for `ctx.waitUntil()` work (still under the deadline), then drops the invocation's
   * timers and subrequests. Answers whether the isolate can serve another invocation.
   */
  async settle(): Promise<boolean> {
    const stopGuards = this.#pendingGuards ?? (() => {});
    this.#pendingGuards = undefined;
    if (this.#settled) return !this.#isolate.isDisposed;
    try {
      if (this.#isolate.isDisposed) return false;
      await this.#api.settle.apply(undefined, [], { result: { promise: true } });
      return !this.#isolate.isDisposed;
    } catch {
      if (!this.#isolate.isDisposed) this.#kill(this.#killReason ?? 'crash');
      return false;
    } finally {
      stopGuards();
      this.#endInvocation();
    }
  }

  #endInvocation(): void {
    this.#clearTimers();
    this.#subrequestAbort.abort();
    this.#fetches.clear();
    this.#hooks = undefined;
  }

  /** Why the isolate was disposed by a limit, if it was. */
  get killReason(): DiscardReason | undefined { return this.#killReason; }

  /** Disposes the isolate (idempotent). */
  dispose(): void {
    this.#clearTimers();
    this.#subrequestAbort.abort();
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
  }

  /** Arms the wall-clock deadline and the optional CPU-time poller; returns their disarm. */
  #guard(hooks: InvocationHooks): () => void {
    const deadline = setTimeout(() => this.#kill('timeout'), Math.max(0, hooks.deadline - Date.now()));
    let cpuPoll: NodeJS.Timeout | undefined;
    if (hooks.cpuMs !== undefined) {
      const startCpuNs = this.#isolate.cpuTime;
      const budgetNs = BigInt(hooks.cpuMs) * 1_000_000n;
      cpuPoll = setInterval(() => {
        if (!this.#isolate.isDisposed && this.#isolate.cpuTime - startCpuNs > budgetNs) this.#kill('cpu');
      }, CPU_POLL_MS);
    }
    return () => {
      clearTimeout(deadline);
      if (cpuPoll !== undefined) clearInterval(cpuPoll);
    };
  }

  #kill(reason: DiscardReason): void {
    this.#killReason ??= reason;
    this.dispose();
  }

  #killed(err: unknown, hooks: InvocationHooks): IsolateRun {
    const message = hostMessage(err);
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

  #onLog(level: string, message: string): boolean {
    const lvl: LogEntry['level'] = level === 'debug' || level === 'warn' || level === 'error' ? level : 'info';
    if (this.#hooks === undefined) {
      this.#fallbackLog(lvl, String(message));
      return true;
    }
    return this.#hooks.log(lvl, String(message));
  }

  #onFetch(id: number, init: SubrequestInit): void {
    const hooks = this.#hooks;
    // Only the invocation that asked gets the answer: code must never run in the isolate
    // outside an invocation, where no deadline bounds it.
    const reply = (value: unknown) => {
      if (this.#isolate.isDisposed || this.#hooks !== hooks || hooks === undefined) return;
      this.#api.complete.applyIgnored(undefined, [id, new ivm.ExternalCopy(value).copyInto({ release: true })]);
    };
    if (hooks === undefined) return reply({ error: 'fetch failed: no invocation is running' });
    if (++this.#subrequests > hooks.maxSubrequests) {
      return reply({ error: `fetch failed: too many subrequests (this invocation may make ${hooks.maxSubrequests})` });
    }
    const own = new AbortController();
    this.#fetches.set(id, own);
    const signal = AbortSignal.any([own.signal, this.#subrequestAbort.signal, AbortSignal.timeout(DEFAULT_SUBREQUEST_TIMEOUT_MS)]);
    void hostFetch(init, { functionName: hooks.functionName, maxRequestBytes: hooks.maxRequestBytes, maxResponseBytes: hooks.maxResponseBytes, signal }).then((value) => {
      this.#fetches.delete(id);
      reply(value);
    });
  }

  #onSetTimer(id: number, ms: number): void {
    if (this.#isolate.isDisposed) return;
    const previous = this.#timers.get(id);
    if (previous !== undefined) clearTimeout(previous);
    this.#timers.set(id, setTimeout(() => {
      this.#timers.delete(id);
      if (!this.#isolate.isDisposed) this.#api.fire.applyIgnored(undefined, [id]);
    }, Math.min(ms, 2_147_483_647)));
  }

  #onClearTimer(id: number): void {
    const timer = this.#timers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(id);
  }

  #clearTimers(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
