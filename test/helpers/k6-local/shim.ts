// A tiny stand-in for k6's modules (k6, k6/http, k6/metrics, k6/execution), enough to run the
// load-test scripts' setup/default/teardown once or a few times under Node against a real islet.
// HTTP is synchronous as in k6: a worker does the fetch while this thread waits on Atomics.
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';

interface Res {
  status: number; body: string; headers: Record<string, string>; timings: { duration: number }; error: string;
  json(): unknown;
}

const state = {
  checks: {} as Record<string, { passes: number; fails: number }>,
  metrics: {} as Record<string, number[]>,
  requests: [] as Array<{ method: string; url: string; status: number }>,
};
(globalThis as Record<string, unknown>).__k6shim = state;

let worker: Worker | undefined;
function syncFetch(method: string, url: string, body: unknown, params?: { headers?: Record<string, string> }): Res {
  worker ??= new Worker(new URL('./http-worker.ts', import.meta.url));
  worker.unref();
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ id: 0, method, url, body: body === null || body === undefined ? null : String(body), headers: params?.headers ?? {}, signal, port: port2 }, [port2]);
  Atomics.wait(signal, 0, 0, 60_000);
  const msg = receiveMessageOnPort(port1)?.message as { status: number; body: string; headers: Array<[string, string]>; duration: number; error?: string } | undefined;
  port1.close();
  if (!msg) throw new Error(`k6 shim: no answer for ${method} ${url}`);
  // k6 canonicalises header names (Retry-After, Content-Type).
  const headers = Object.fromEntries(msg.headers.map(([k, v]) => [k.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase()), v]));
  state.requests.push({ method, url, status: msg.status });
  return { status: msg.status, body: msg.body, headers, timings: { duration: msg.duration }, error: msg.error ?? '', json: () => JSON.parse(msg.body) };
}

export const http = {
  get: (url: string, params?: { headers?: Record<string, string> }) => syncFetch('GET', url, null, params),
  post: (url: string, body?: unknown, params?: { headers?: Record<string, string> }) => syncFetch('POST', url, body, params),
  put: (url: string, body?: unknown, params?: { headers?: Record<string, string> }) => syncFetch('PUT', url, body, params),
  del: (url: string, body?: unknown, params?: { headers?: Record<string, string> }) => syncFetch('DELETE', url, body, params),
  expectedStatuses: (...statuses: number[]) => statuses,
  setResponseCallback: () => {},
};

export function check<T>(value: T, checks: Record<string, (v: T) => boolean>): boolean {
  let all = true;
  for (const [name, fn] of Object.entries(checks)) {
    const ok = fn(value);
    const entry = (state.checks[name] ??= { passes: 0, fails: 0 });
    if (ok) entry.passes++; else entry.fails++;
    all &&= ok;
  }
  return all;
}

export function sleep(seconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

class Metric {
  #name: string;
  constructor(name: string) { this.#name = name; state.metrics[name] = []; }
  add(value: number): void { state.metrics[this.#name]!.push(value); }
}
export { Metric as Trend, Metric as Counter, Metric as Rate, Metric as Gauge };

export const exec = { scenario: { iterationInTest: 0, startTime: Date.now() } };
