import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TestFunctions } from './testing.ts';

async function call(fns: TestFunctions, name: string, event: unknown = {}): Promise<unknown> {
  const result = await fns.runtime.invoke(name, { kind: 'event', json: JSON.stringify(event) }, { trigger: 'invoke' });
  assert.equal(result.outcome, 'success', JSON.stringify(result.error));
  return JSON.parse((result.value as { json: string }).json);
}

describe('globals inside an isolate', () => {
  let fns: TestFunctions;
  let server: Server;
  let base: string;
  const seen: Array<{ method: string; url: string; body: string; header: string | undefined; caller: string | undefined }> = [];
  before(async () => {
    fns = new TestFunctions({ maxSubrequests: 3 });
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      req.on('end', () => {
        if (req.url === '/slow') {
          setTimeout(() => res.end('late'), 3_000).unref();
          return;
        }
        seen.push({ method: req.method ?? '', url: req.url ?? '', body, header: req.headers['x-test'] as string | undefined,
          caller: req.headers['x-islet-function'] as string | undefined });
        res.setHeader('content-type', 'application/json');
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.end(JSON.stringify({ echo: body, path: req.url }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await fns.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fetches from a local HTTP server through the host', async () => {
    await fns.deploy('fetcher', `export async function handler(event) {
      const res = await fetch(event.url + '/hello?x=1', { method: 'POST', body: 'ping', headers: { 'x-test': 'yes', 'x-islet-function': 'forged' } });
      return { status: res.status, json: await res.json(), type: res.headers.get('content-type'), ok: res.ok,
        cookies: res.headers.getSetCookie ? res.headers.getSetCookie() : null, isResponse: res instanceof Response };
    }`);
    const out = await call(fns, 'fetcher', { url: base });
    assert.deepEqual(out, {
      status: 200, json: { echo: 'ping', path: '/hello?x=1' }, type: 'application/json', ok: true, cookies: ['a=1', 'b=2'], isResponse: true,
    });
    assert.deepEqual(seen.at(-1), { method: 'POST', url: '/hello?x=1', body: 'ping', header: 'yes', caller: 'fetcher' },
      'the runtime names the calling function and a function cannot forge it');
  });

  it('fails fetch() past the per-invocation subrequest cap, and resets it per invocation', async () => {
    await fns.deploy('many', `export async function handler(event) {
      const out = [];
      for (let i = 0; i < 5; i++) {
        try { await (await fetch(event.url + '/n' + i)).text(); out.push('ok') } catch (err) { out.push(err.name + ': ' + err.message) }
      }
      return out;
    }`);
    const first = await call(fns, 'many', { url: base }) as string[];
    assert.deepEqual(first.slice(0, 3), ['ok', 'ok', 'ok']);
    assert.match(first[3]!, /^TypeError: .*too many subrequests/);
    assert.match(first[4]!, /too many subrequests/);
    const second = await call(fns, 'many', { url: base }) as string[];
    assert.deepEqual(second.slice(0, 3), ['ok', 'ok', 'ok']);
  });

  it('aborts a fetch through AbortSignal.timeout()', async () => {
    await fns.deploy('aborter', `export async function handler(event) {
      const started = Date.now();
      try { await fetch(event.url + '/slow', { signal: AbortSignal.timeout(50) }); return 'fetched' }
      catch (err) { return { name: err.name, fast: Date.now() - started < 2_000 } }
    }`, { timeoutMs: 5_000 });
    assert.deepEqual(await call(fns, 'aborter', { url: base }), { name: 'TimeoutError', fast: true });
  });

  it('reports a failing fetch as a TypeError without host details', async () => {
    await fns.deploy('refused', `export async function handler() {
      try { await fetch('http://127.0.0.1:1/'); return 'fetched' } catch (err) { return err.name + ': ' + err.message }
    }`);
    const out = await call(fns, 'refused') as string;
    assert.match(out, /^TypeError: fetch failed/);
    assert.doesNotMatch(out, /node_modules|\/work\/|undici/);
  });

  it('runs timers, intervals and microtasks across awaits', async () => {
    await fns.deploy('timers', `export async function handler() {
      const order = [];
      const cleared = setTimeout(() => order.push('never'), 5);
      clearTimeout(cleared);
      queueMicrotask(() => order.push('micro'));
      await new Promise((resolve) => setTimeout(() => { order.push('timeout'); resolve() }, 20));
      let ticks = 0;
      await new Promise((resolve) => { const id = setInterval(() => { if (++ticks === 3) { clearInterval(id); resolve() } }, 5) });
      const start = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 30, 'arg'));
      return { order, ticks, waited: performance.now() - start >= 25 };
    }`);
    assert.deepEqual(await call(fns, 'timers'), { order: ['micro', 'timeout'], ticks: 3, waited: true });
  });

  it('runs no function code between invocations (late timers and fetch replies are dropped)', async () => {
    await fns.deploy('late', `setTimeout(() => { globalThis.atLoad = true }, 1);
      export async function handler(event) {
        if (event.check) return { timer: globalThis.late ?? false, fetch: globalThis.fetched ?? false, atLoad: globalThis.atLoad ?? false };
        setTimeout(() => { globalThis.late = true }, 20);
        fetch(event.url + '/slow').then(() => { globalThis.fetched = true }, () => { globalThis.fetched = true });
        return 'started';
      }`);
    assert.equal(await call(fns, 'late', { url: base }), 'started');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const check = await fns.runtime.invoke('late', { kind: 'event', json: '{"check":true}' }, { trigger: 'invoke' });
    assert.equal(check.report.initDurationMs, undefined, 'the same warm isolate answers');
    assert.deepEqual(JSON.parse((check.value as { json: string }).json), { timer: false, fetch: false, atLoad: false });
  });

  it('provides crypto.getRandomValues and randomUUID from host randomness', async () => {
    await fns.deploy('crypto', `export async function handler() {
      const a = crypto.getRandomValues(new Uint8Array(32));
      const b = crypto.getRandomValues(new Uint32Array(4));
      let quota = 'none';
      try { crypto.getRandomValues(new Uint8Array(65537)) } catch (err) { quota = err.name }
      let type = 'none';
      try { crypto.getRandomValues(new Float64Array(2)) } catch (err) { type = err.name }
      const uuids = new Set(Array.from({ length: 100 }, () => crypto.randomUUID()));
      return { nonZero: a.some((x) => x !== 0), distinct: new Set(a).size > 10, b: b.length, quota, type,
        uuids: uuids.size, shape: [...uuids].every((u) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u)),
        big: crypto.getRandomValues(new Uint8Array(65536)).length };
    }`);
    assert.deepEqual(await call(fns, 'crypto'), {
      nonZero: true, distinct: true, b: 4, quota: 'QuotaExceededError', type: 'TypeMismatchError', uuids: 100, shape: true, big: 65536,
    });
  });

  it('has the Web classes of the prelude', async () => {
    await fns.deploy('web', `export async function handler() {
      const url = new URL('https://a.test/p?q=1');
      const enc = new TextEncoder().encode('hé');
      const form = new FormData(); form.append('k', 'v');
      const clone = structuredClone({ d: new Date(0), m: new Map([[1, 2]]) });
      return { host: url.host, q: url.searchParams.get('q'), enc: enc.length, b64: btoa('hi'), text: atob('aGk='),
        form: form.get('k'), clone: clone.m.get(1), abort: new AbortController().signal.aborted,
        blob: await new Blob(['ab']).text(), self: self === globalThis };
    }`);
    assert.deepEqual(await call(fns, 'web'), {
      host: 'a.test', q: '1', enc: 3, b64: 'aGk=', text: 'hi', form: 'v', clone: 2, abort: false, blob: 'ab', self: true,
    });
  });

  it('fails an invocation that leaves a promise rejection unhandled, then recovers', async () => {
    await fns.deploy('unhandled', `export async function handler(e) { if (!e.quick) Promise.reject(new Error('lost')); return 'fine' }`);
    const bad = await fns.runtime.invoke('unhandled', { kind: 'event', json: '{}' }, { trigger: 'invoke' });
    assert.notEqual(bad.outcome, 'success');
    assert.equal(bad.error?.errorType, 'Runtime.UnhandledPromiseRejection');
    assert.match(bad.error?.errorMessage ?? '', /lost/);
    assert.equal(await call(fns, 'unhandled', { quick: true }), 'fine');
  });
});
