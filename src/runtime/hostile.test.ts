import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isIsletError } from '../errors.ts';
import type { InvocationResult } from '../invoke/types.ts';
import { TestFunctions, httpPayload } from './testing.ts';

/** Host details that must never reach a client. */
const HOST_DETAIL = /\/work\/|node_modules|node:internal|\.ts:\d|isolated-vm/;

function assertNoHostDetail(result: InvocationResult): void {
  const text = JSON.stringify(result.error ?? '');
  assert.doesNotMatch(text, HOST_DETAIL, text.slice(0, 500));
}

describe('hostile functions', () => {
  let fns: TestFunctions;
  before(async () => {
    fns = new TestFunctions();
    await fns.deploy('neighbour', `export async function handler(event) { return { ok: [1].map((x) => x + 1), json: JSON.stringify({ a: 1 }), polluted: ({}).polluted ?? null } }`);
  });
  after(() => fns.close());

  /** Deploys `body` as the inside of an async Lambda handler and invokes it once. */
  async function run(name: string, body: string, config: { timeoutMs?: number; memoryMb?: number } = {}): Promise<InvocationResult> {
    await fns.deploy(name, `export async function handler(event, context) { ${body} }`, { timeoutMs: 1_000, ...config });
    const result = await fns.runtime.invoke(name, { kind: 'event', json: '{}' }, { trigger: 'invoke' });
    assertNoHostDetail(result);
    return result;
  }

  /** The neighbour still answers, untouched. */
  async function neighbourIsFine(): Promise<void> {
    const result = await fns.runtime.invoke('neighbour', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
    assert.equal(result.outcome, 'success', JSON.stringify(result.error));
    assert.deepEqual(JSON.parse((result.value as { json: string }).json), { ok: [2], json: '{"a":1}', polluted: null });
  }

  it('turns a stack overflow into a RangeError and keeps the isolate', async () => {
    const result = await run('recurse', `const f = (n) => f(n + 1) + 1; return f(0)`);
    assert.equal(result.outcome, 'error');
    assert.equal(result.error?.errorType, 'RangeError');
    assert.match(result.error?.errorMessage ?? '', /call stack/);
    assert.equal(fns.runtime.stats().perFunction.find((f) => f.functionName === 'recurse')?.warm, 1);
    await neighbourIsFine();
  });

  it('fails huge allocations cleanly without growing the process', async () => {
    const rssBefore = process.memoryUsage().rss;
    for (const [name, body] of [
      ['ab', `return new ArrayBuffer(2 ** 31).byteLength`],
      ['abs', `const keep = []; for (let i = 0; i < 64; i++) keep.push(new Uint8Array(2 ** 26)); return keep.length`],
      ['str', `let s = 'x'; for (;;) s += s`],
      ['wasm-mem', `const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 }); for (let i = 0; i < 64; i++) m.grow(1024); return m.buffer.byteLength`],
    ]) {
      const result = await run(name!, body!);
      assert.ok(result.outcome === 'error' || result.outcome === 'memory', `${name}: ${result.outcome}`);
      assert.match(`${result.error?.errorType}: ${result.error?.errorMessage}`, /RangeError|MemoryLimitExceeded/, name);
    }
    assert.ok(process.memoryUsage().rss - rssBefore < 512 * 1024 * 1024, 'RSS grew by less than 512 MB');
    await neighbourIsFine();
  });

  it('times out Atomics.wait, a wasm infinite loop and a microtask loop', async () => {
    const wasm = '[0,97,115,109,1,0,0,0,1,4,1,96,0,0,3,2,1,0,7,5,1,1,102,0,0,10,9,1,7,0,3,64,12,0,11,11]';
    const cases = [
      ['atomics', `Atomics.wait(new Int32Array(new SharedArrayBuffer(8)), 0, 0); return 1`],
      ['wasm-loop', `const { instance } = await WebAssembly.instantiate(new Uint8Array(${wasm})); instance.exports.f(); return 1`],
      ['microtasks', `const f = () => Promise.resolve().then(f); f(); return 1`],
    ];
    const results = await Promise.all(cases.map(([name, body]) => run(name!, body!, { timeoutMs: 300 })));
    for (const [i, result] of results.entries()) {
      // A microtask loop allocates as it spins: the memory limit may stop it before the clock.
      assert.ok(result.outcome === 'timeout' || (i === 2 && result.outcome === 'memory'), `${cases[i]![0]}: ${result.outcome}`);
      assert.ok(result.report.memoryUsedMb > 0, `${cases[i]![0]}: the REPORT has a heap figure`);
    }
    await neighbourIsFine();
  });

  it('caps responses: a 1 GB body and a body just over the cap fail, many headers hit the timeout', async () => {
    await fns.deploy('gig', `export default { fetch() { return new Response(new Uint8Array(2 ** 30)) } }`);
    const gig = await fns.runtime.invoke('gig', httpPayload(), { trigger: 'http' });
    assert.equal(gig.outcome === 'error' || gig.outcome === 'memory', true, gig.outcome);
    await fns.deploy('over', `export default { fetch() { return new Response(new Uint8Array(6 * 1024 * 1024 + 1)) } }`);
    const over = await fns.runtime.invoke('over', httpPayload(), { trigger: 'http' });
    assert.equal(over.error?.errorType, 'Function.ResponseTooLarge');
    await fns.deploy('headers', `export default { fetch() { const h = new Headers(); for (let i = 0; i < 100000; i++) h.append('x-h' + i, 'v'); return new Response('x', { headers: h }) } }`,
      { timeoutMs: 300 });
    const headers = await fns.runtime.invoke('headers', httpPayload(), { trigger: 'http' });
    assert.ok(headers.outcome === 'timeout' || headers.outcome === 'success', headers.outcome);
    const bigHeaders = await run('big-headers', `const headers = {}; for (let i = 0; i < 300; i++) headers['x-h' + i] = 'v'.repeat(1000);
      return { statusCode: 200, headers, body: 'x' }`);
    assert.equal(bigHeaders.outcome, 'success', 'an event invocation ignores HTTP headers');
    await fns.deploy('big-headers-http', `export async function handler() { const headers = {}; for (let i = 0; i < 300; i++) headers['x-h' + i] = 'v'.repeat(1000);
      return { statusCode: 200, headers, body: 'x' } }`);
    const bigHttp = await fns.runtime.invoke('big-headers-http', httpPayload(), { trigger: 'http' });
    assert.equal(bigHttp.error?.errorType, 'Function.ResponseTooLarge');
    assert.match(bigHttp.error?.errorMessage ?? '', /headers/);
    await neighbourIsFine();
  });

  it('reports results that cannot be serialised as errors', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['getter', `return { get x() { throw new Error('boom') } }`, /boom/],
      ['cyclic', `const o = {}; o.o = o; return o`, /circular/i],
      ['bigint', `return 10n`, /BigInt/],
      ['proxy', `return new Proxy({}, { get() { throw new Error('trap') }, ownKeys() { throw new Error('trap') } })`, /trap/],
    ];
    for (const [name, body, message] of cases) {
      const result = await run(name, body);
      assert.equal(result.outcome, 'error', name);
      assert.match(result.error?.errorMessage ?? '', message, name);
    }
  });

  it('logs proxies and cyclic objects without failing', async () => {
    await fns.deploy('log-hostile', `export async function handler() {
      console.log(new Proxy({}, { get() { throw 1 }, ownKeys() { throw 2 }, getPrototypeOf() { throw 3 } }));
      const o = { name: 'o' }; o.self = o; console.log(o);
      console.log('x'.repeat(1024 * 1024));
      return 'ok' }`);
    const lines: string[] = [];
    const watched = new TestFunctions({ observer: { onLog: (entry) => { lines.push(entry.message); } } });
    try {
      watched.records.set('log-hostile', fns.records.get('log-hostile')!);
      const result = await watched.runtime.invoke('log-hostile', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
      assert.equal(result.outcome, 'success', JSON.stringify(result.error));
      assert.match(lines[0] ?? '', /^\[(Uninspectable|unprintable log line)\]$/);
      assert.match(lines[1] ?? '', /self: \[Circular\]/);
      assert.ok(lines.every((line) => line.length < 300 * 1024), 'a huge line is truncated in the isolate');
    } finally {
      await watched.close();
    }
  });

  it('caps timers and subrequests', async () => {
    const timers = await run('interval-storm', `try { for (let i = 0; i < 100000; i++) setInterval(() => {}, 0) } catch (err) { return String(err) } return 'no cap'`);
    assert.match(JSON.parse((timers.value as { json: string }).json), /Too many pending timers/);
    const fetches = await run('fetch-storm', `const all = await Promise.allSettled(Array.from({ length: 80 }, () => fetch('http://127.0.0.1:1/')));
      return all.filter((r) => /too many subrequests/.test(r.reason?.message)).length`, { timeoutMs: 5_000 });
    assert.equal(JSON.parse((fetches.value as { json: string }).json), 30);
    await neighbourIsFine();
  });

  it('runs a timer storm on the isolate, keeping timer order and clears', async () => {
    const storm = await run('timer-storm', `let fired = 0;
      for (let i = 0; i < 9_999; i++) setInterval(() => { fired++ }, 0);
      await new Promise((resolve) => setTimeout(resolve, 50));
      return fired > 9_999`, { timeoutMs: 5_000 });
    assert.equal(JSON.parse((storm.value as { json: string }).json), true, 'every interval fired at least once');
    const order = await run('timer-order', `const seen = [];
      setTimeout(() => seen.push('a10'), 10);
      setTimeout(() => seen.push('b5'), 5);
      setTimeout(() => { seen.push('c5'); clearTimeout(doomed) }, 5);
      const doomed = setTimeout(() => seen.push('never'), 5);
      let n = 0; const every = setInterval(() => { if (++n === 3) { clearInterval(every); seen.push('i3') } }, 1);
      await new Promise((resolve) => setTimeout(resolve, 40));
      return seen`);
    const seen = JSON.parse((order.value as { json: string }).json) as string[];
    assert.deepEqual(seen.filter((x) => x !== 'i3'), ['b5', 'c5', 'a10']);
    assert.ok(seen.includes('i3'));
    await neighbourIsFine();
  });

  it('describes thrown non-Error values', async () => {
    const cases: Array<[string, string, string]> = [
      ['throw-null', `throw null`, 'null'],
      ['throw-symbol', `throw Symbol('s')`, 'Symbol(s)'],
      ['throw-tostring', `throw { toString() { throw 1 } }`, ''],
      ['throw-proxy', `throw new Proxy({}, { get() { throw 1 } })`, 'the function threw a value that cannot be described'],
    ];
    for (const [name, body, message] of cases) {
      const result = await run(name, body);
      assert.equal(result.outcome, 'error', name);
      assert.equal(result.error?.errorMessage, message, name);
    }
    const huge = await run('throw-huge', `throw new Error('x'.repeat(10 * 1024 * 1024))`);
    assert.ok(JSON.stringify(huge.error).length < 64 * 1024, 'a huge error message is cut');
    const rejected = await run('reject-huge', `Promise.reject(new Error('y'.repeat(1024 * 1024))); await new Promise((r) => setTimeout(r, 20)); return 1`);
    assert.ok(JSON.stringify(rejected.error).length < 64 * 1024, 'an unhandled rejection message is cut');
  });

  it('keeps builtin patches inside the function that made them (its isolate is reused)', async () => {
    await fns.deploy('polluter', `let calls = 0; export async function handler() {
      calls++;
      const seen = { polluted: ({}).polluted ?? null, calls };
      Object.prototype.polluted = 'yes'; Array.prototype.map = () => 'patched'; JSON.stringify = () => '"hacked"';
      return seen }`);
    const first = await fns.runtime.invoke('polluter', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
    const second = await fns.runtime.invoke('polluter', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
    assert.deepEqual(JSON.parse((first.value as { json: string }).json), { polluted: null, calls: 1 });
    // Like a reused Lambda container: the same function's next invocation sees its own patches.
    assert.deepEqual(JSON.parse((second.value as { json: string }).json), { polluted: 'yes', calls: 2 });
    await neighbourIsFine();
  });
});

describe('hostile modules at deploy', () => {
  it('rejects a module whose top-level await never settles with InvalidCode', async () => {
    const fns = new TestFunctions();
    try {
      await assert.rejects(fns.runtime.validateCode(`await new Promise(() => {}); export const handler = () => 1`),
        (err) => isIsletError(err, 'InvalidCode') && /top-level await/.test(err.message) && !HOST_DETAIL.test(err.message));
      await assert.rejects(fns.runtime.validateCode(`for (;;) {} export const handler = () => 1`),
        (err) => isIsletError(err, 'InvalidCode') && /timed out/.test(err.message));
      await assert.rejects(fns.runtime.validateCode(`throw Symbol('x'); export const handler = () => 1`),
        (err) => isIsletError(err, 'InvalidCode') && /threw while loading: a value that is not an Error/.test(err.message) && !HOST_DETAIL.test(err.message));
    } finally {
      await fns.close();
    }
  });
});

describe('a builtin that ignores termination', () => {
  it('kills the process (SIGKILL) instead of hanging it, so a supervisor restarts it', async () => {
    const testing = fileURLToPath(new URL('./testing.ts', import.meta.url));
    const logger = fileURLToPath(new URL('../observability/logger.ts', import.meta.url));
    // Array.prototype.reverse over 2^31 holes never checks for termination: isolated-vm gives up
    // on the isolate ("Script failed to terminate") and reports a catastrophic error. The guard
    // of prelude/guards.js for concat reads Symbol.isConcatSpreadable once; a getter that says
    // "no" to the guard and "yes" to the builtin still gets through (docs/runtime.md, "Known
    // ways a function can restart islet").
    const script = `import { TestFunctions } from ${JSON.stringify(testing)};
      import { createLogger } from ${JSON.stringify(logger)};
      const fns = new TestFunctions({ log: createLogger({ level: 'fatal' }) });
      await fns.deploy('stuck', 'let n = 0; const o = { length: 2 ** 31, get [Symbol.isConcatSpreadable]() { return n++ !== 0 } }; export async function handler() { return [].concat(o).length }', { timeoutMs: 100 });
      process.stdout.write('invoking\\n');
      await fns.runtime.invoke('stuck', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
      process.stdout.write('survived\\n');`;
    const child = spawn(process.execPath, ['--no-node-snapshot', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    const watchdog = setTimeout(() => child.kill('SIGTERM'), 60_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearTimeout(watchdog);
    assert.match(out, /invoking/);
    assert.doesNotMatch(out, /survived/);
    assert.deepEqual([code, signal], [null, 'SIGKILL'], out.slice(-2000));
    assert.match(out, /"level":"fatal".*"fn":"stuck".*catastrophic/, `the fatal line names the function: ${out.slice(-1000)}`);
  });
});

describe('observer records stay paired', () => {
  it('sends onStart with the version, also when the cold start fails, and a REPORT for each', async () => {
    const starts: Array<{ functionName: string; cold: boolean; version?: string }> = [];
    const reports: Array<{ functionName: string; outcome: string }> = [];
    const fns = new TestFunctions({ observer: {
      onStart: (s) => { starts.push({ functionName: s.functionName, cold: s.cold, ...(s.version === undefined ? {} : { version: s.version }) }); },
      onReport: (r) => { reports.push({ functionName: r.functionName, outcome: r.outcome }); },
    } });
    try {
      await fns.deploy('fine', `export async function handler() { return 1 }`);
      // The deploy check runs without env, so this module only throws at its cold start.
      await fns.deploy('init-fails', `if (process.env.BREAK) throw new Error('broken at init'); export async function handler() { return 1 }`, { env: { BREAK: '1' } });
      await fns.runtime.invoke('fine', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
      const failed = await fns.runtime.invoke('init-fails', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
      assert.equal(failed.error?.errorType, 'Runtime.InitError');
      assert.deepEqual(starts, [
        { functionName: 'fine', cold: true, version: '$LATEST' },
        { functionName: 'init-fails', cold: true, version: '$LATEST' },
      ]);
      assert.deepEqual(reports, [{ functionName: 'fine', outcome: 'success' }, { functionName: 'init-fails', outcome: 'error' }]);
    } finally {
      await fns.close();
    }
  });
});
