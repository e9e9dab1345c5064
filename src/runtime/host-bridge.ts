import { randomBytes } from 'node:crypto';
import ivm from 'isolated-vm';
import { DEFAULT_SUBREQUEST_TIMEOUT_MS } from '../defaults.ts';
import type { LogEntry } from '../invoke/types.ts';
import { hostFetch, type SubrequestInit } from './host-fetch.ts';

const MAX_RANDOM_BYTES = 65_536;
/** Longest delay a host timer takes (Node's own maximum). */
const MAX_TIMER_MS = 2_147_483_647;

/** Where console lines go when no invocation is running (module top level, late timers). */
export type LogSink = (level: LogEntry['level'], message: string) => void;

/** Takes an invocation's console lines; answers false once its log cap is reached. */
export interface LogWriter {
  write(level: LogEntry['level'], message: string): boolean;
}

/** Where an invocation's host calls go (console lines, subrequests). */
export interface InvocationHooks {
  functionName: string;
  requestId: string;
  /** Epoch ms when the invocation's wall-clock budget ends. */
  deadline: number;
  cpuMs?: number | undefined;
  maxSubrequests: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** Receives the console lines (the invocation's InvocationLog); `write` answers false once the log cap is reached. */
  log: LogWriter;
}

/** How the bridge calls back into its isolate (both fire-and-forget, never on a disposed isolate). */
export interface BridgeIsolate {
  readonly disposed: boolean;
  /** The isolate's timer fired: it runs whichever of its timers are due. */
  fire(): void;
  /** A subrequest finished: `value` is a SubrequestReply. */
  complete(id: number, value: unknown): void;
  /** The running invocation will wait on the host (a subrequest, a timer): its executing slot can go once its thread is free. */
  waiting(): void;
}

/**
 * The host side of one isolate's bridge globals (console, crypto, fetch, timers): the
 * callbacks the bootstrap closes over, and the host resources they hold (timers,
 * subrequests), which belong to the running invocation and go when it ends.
 */
export class HostBridge {
  #isolate: BridgeIsolate;
  #hooks: InvocationHooks | undefined;
  #fallbackLog: LogSink = () => {};
  /** The one host timer of the isolate's timers (the bootstrap keeps the timers themselves). */
  #wake: NodeJS.Timeout | undefined;
  #wakeAt = Infinity;
  #subrequests = 0;
  /** Aborts the invocation's subrequests when it ends; made by its first subrequest only. */
  #subrequestAbort: AbortController | undefined;
  /** In-flight subrequests by the isolate's call id, so function code can abort them. */
  #fetches = new Map<number, AbortController>();

  constructor(isolate: BridgeIsolate) {
    this.#isolate = isolate;
  }

  /** The callbacks handed to the bootstrap, in its parameter order. */
  callbacks(): ivm.Callback[] {
    return [
      new ivm.Callback((level: string, message: string) => this.#log(level, message)),
      new ivm.Callback((n: number) => new Uint8Array(randomBytes(Math.min(Math.max(0, n | 0), MAX_RANDOM_BYTES)))),
      new ivm.Callback((id: number, url: string, method: string, headers: Array<[string, string]>, body: Uint8Array | null, redirect: string) => {
        this.#fetch(id, { url, method, headers, body, redirect });
      }, { ignored: true }),
      new ivm.Callback((id: number) => this.#fetches.get(id)?.abort(), { ignored: true }),
      new ivm.Callback((ms: number) => this.#setWake(ms), { ignored: true }),
    ];
  }

  /** Where console lines go while no invocation runs. */
  set fallbackLog(sink: LogSink) { this.#fallbackLog = sink; }

  /** An invocation starts: its hooks receive the host calls, with fresh subrequest budgets. */
  begin(hooks: InvocationHooks): void {
    this.#hooks = hooks;
    this.#subrequests = 0;
  }

  /** The invocation ended: its timers and subrequests are dropped (nothing runs between invocations). */
  end(): void {
    this.clearTimers();
    if (this.#subrequestAbort !== undefined) {
      this.#subrequestAbort.abort();
      this.#subrequestAbort = undefined;
    }
    if (this.#fetches.size > 0) this.#fetches.clear();
    this.#hooks = undefined;
  }

  /** Drops the pending timer (also one module top-level code set: those never fire). */
  clearTimers(): void {
    if (this.#wake !== undefined) clearTimeout(this.#wake);
    this.#wake = undefined;
    this.#wakeAt = Infinity;
  }

  #log(level: string, message: string): boolean {
    const lvl: LogEntry['level'] = level === 'debug' || level === 'warn' || level === 'error' ? level : 'info';
    if (this.#hooks === undefined) {
      this.#fallbackLog(lvl, String(message));
      return true;
    }
    return this.#hooks.log.write(lvl, String(message));
  }

  #fetch(id: number, init: SubrequestInit): void {
    const hooks = this.#hooks;
    // Only the invocation that asked gets the answer: code must never run in the isolate
    // outside an invocation, where no deadline bounds it.
    const reply = (value: unknown) => {
      if (this.#isolate.disposed || this.#hooks !== hooks || hooks === undefined) return;
      this.#isolate.complete(id, value);
    };
    if (hooks === undefined) return reply({ error: 'fetch failed: no invocation is running' });
    if (++this.#subrequests > hooks.maxSubrequests) {
      return reply({ error: `fetch failed: too many subrequests (this invocation may make ${hooks.maxSubrequests})` });
    }
    this.#isolate.waiting();
    const own = new AbortController();
    this.#fetches.set(id, own);
    this.#subrequestAbort ??= new AbortController();
    const signal = AbortSignal.any([own.signal, this.#subrequestAbort.signal, AbortSignal.timeout(DEFAULT_SUBREQUEST_TIMEOUT_MS)]);
    void hostFetch(init, { functionName: hooks.functionName, maxRequestBytes: hooks.maxRequestBytes, maxResponseBytes: hooks.maxResponseBytes, signal }).then((value) => {
      this.#fetches.delete(id);
      reply(value);
    });
  }

  /** Sets the isolate's timer `ms` from now, unless it is already set for earlier. */
  #setWake(ms: number): void {
    if (this.#isolate.disposed) return;
    if (this.#hooks !== undefined) this.#isolate.waiting();
    const delay = Math.min(Math.max(0, Number(ms) || 0), MAX_TIMER_MS);
    const at = Date.now() + delay;
    if (this.#wake !== undefined && at >= this.#wakeAt) return;
    this.clearTimers();
    this.#wakeAt = at;
    this.#wake = setTimeout(() => {
      this.#wake = undefined;
      this.#wakeAt = Infinity;
      if (!this.#isolate.disposed) this.#isolate.fire();
    }, delay);
  }
}
