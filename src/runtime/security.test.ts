import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isIsletError } from '../errors.ts';
import { TestFunctions } from './testing.ts';

/** Runs `body` (the inside of an async handler) in a fresh function and answers its JSON result. */
async function probe(fns: TestFunctions, name: string, body: string): Promise<unknown> {
  await fns.deploy(name, `export async function handler(event, context) { ${body} }`, { env: { MINE: '1' } });
  const result = await fns.runtime.invoke(name, { kind: 'event', json: '{}' }, { trigger: 'invoke' });
  assert.equal(result.outcome, 'success', JSON.stringify(result.error));
  assert.equal(result.value?.kind, 'event');
  return JSON.parse((result.value as { json: string }).json);
}

/** Names of isolated-vm's classes and methods, and of Node's host globals. */
const HOST_MARKERS = /^(Reference|Dereference|ExternalCopy|Copy|Callback|Isolate|Context|Script|NativeModule|derefInto|applySync|applyIgnored|applySyncPromise|copySync|copyInto|ivm|_ivm|require|Buffer|__dirname|__filename)$/;

describe('isolate escape attempts', () => {
  let fns: TestFunctions;
  before(() => { fns = new TestFunctions(); });
  after(() => fns.close());

  it('reaches only the env shim through the Function constructor', async () => {
    const found = await probe(fns, 'ctor', `
      const p = this?.constructor?.constructor('return process')() ?? (() => {}).constructor('return process')();
      const viaFetch = setTimeout.constructor('return typeof process === "object" ? Object.keys(process) : null')();
      const g = (0, eval)('this');
      return { keys: Object.keys(p), env: p.env, binding: typeof p.binding, mainModule: typeof p.mainModule, viaFetch,
        require: typeof (function () { return this })?.call(undefined), globalRequire: typeof g.require, module: typeof g.module,
        frozen: Object.isFrozen(p) };`);
    assert.deepEqual(found, {
      keys: ['env'], env: { MINE: '1' }, binding: 'undefined', mainModule: 'undefined', viaFetch: ['env'],
      require: 'undefined', globalRequire: 'undefined', module: 'undefined', frozen: true,
    });
  });

  it('finds no host object when scanning everything reachable from globalThis', async () => {
    const found = await probe(fns, 'scan', `
      const seen = new Set(); const hits = []; const queue = [[globalThis, 'globalThis']];
      while (queue.length > 0 && seen.size < 20000) {
        const [value, path] = queue.shift();
        if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) continue;
        seen.add(value);
        const ctor = (() => { try { return value.constructor?.name } catch { return undefined } })();
        if (${HOST_MARKERS}.test(String(ctor))) hits.push(path + ' ctor ' + ctor);
        let keys = [];
        try { keys = Reflect.ownKeys(value) } catch {}
        for (const key of keys) {
          const name = String(key);
          if (${HOST_MARKERS}.test(name) && !/^(Symbol|Reflect)/.test(name)) hits.push(path + '.' + name);
          let child; try { child = value[key] } catch { continue }
          if (child instanceof Promise) child.catch(() => {});
          queue.push([child, path + '.' + name]);
        }
        try { queue.push([Object.getPrototypeOf(value), path + '.__proto__']) } catch {}
      }
      return { hits, scanned: seen.size, process: Object.keys(globalThis.process), require: typeof require + typeof globalThis.global };`) as
      { hits: string[]; scanned: number; process: string[]; require: string };
    assert.deepEqual(found.hits, []);
    assert.ok(found.scanned > 500, `scanned ${found.scanned} objects`);
    assert.deepEqual(found.process, ['env']);
    assert.equal(found.require, 'undefinedundefined');
  });

  it('gives host-bridge functions nothing but isolate prototypes', async () => {
    const found = await probe(fns, 'protos', `
      const fns = [console.log, fetch, setTimeout, clearTimeout, queueMicrotask, crypto.getRandomValues, performance.now];
      const sloppy = (0, eval)('this');
      const AsyncFunction = (async () => {}).constructor;
      const isolateFunction = (f) => (Object.getPrototypeOf(f) === Function.prototype && f.constructor === Function)
        || (Object.getPrototypeOf(f) === AsyncFunction.prototype && f.constructor === AsyncFunction);
      return { allIsolateFunctions: fns.every(isolateFunction),
        sloppyThis: sloppy === globalThis, bridgeFrozen: Object.isFrozen(console) && Object.isFrozen(crypto),
        fetchWritable: Object.getOwnPropertyDescriptor(globalThis, 'fetch').writable };`);
    assert.deepEqual(found, { allIsolateFunctions: true, sloppyThis: true, bridgeFrozen: true, fetchWritable: false });
  });

  it('exposes no bridge frames or functions through prepareStackTrace or caller', async () => {
    const found = await probe(fns, 'stacks', `
      const frames = [];
      Error.prepareStackTrace = (err, callsites) => { for (const c of callsites) frames.push({
        file: c.getFileName(), fn: typeof c.getFunction(), thisType: typeof c.getThis() }); return 'x' };
      await new Promise((resolve) => setTimeout(() => { new Error('a').stack; resolve() }, 1));
      new Error('b').stack;
      try { await fetch('not a url') } catch (err) { err.stack }
      let caller = 'none';
      await new Promise((resolve) => setTimeout(new Function('r', 'try { globalThis.__c = typeof arguments.callee.caller } catch (e) { globalThis.__c = "threw" } r()'), 1, resolve));
      caller = globalThis.__c;
      Error.prepareStackTrace = undefined;
      return { frames, caller };`) as { frames: Array<{ file: string | null; fn: string; thisType: string }>; caller: string };
    assert.ok(found.frames.length > 0);
    for (const frame of found.frames) {
      assert.ok(frame.file === null || frame.file === 'file:///stacks.js' || frame.file === 'islet:prelude.js', `frame file ${frame.file}`);
      if (frame.file === 'islet:prelude.js') assert.equal(frame.fn, 'undefined', 'bridge frames are strict: no function handle');
    }
    assert.ok(found.caller === 'object' || found.caller === 'threw' || found.caller === 'undefined', `caller ${found.caller}`);
    assert.notEqual(found.caller, 'function');
  });

  it('copies only plain values out of a Response subclass with hostile getters', async () => {
    await fns.deploy('hostile', `class Evil extends Response { get status() { return { toString() { return 'x' } } } }
      export default { fetch() { return new Evil('hi') } }`);
    const result = await fns.runtime.invoke('hostile', { kind: 'http', method: 'GET', path: '/', rawQuery: '', headers: [], body: null,
      sourceIp: '127.0.0.1', url: 'http://islet.test/fn/hostile/' }, { trigger: 'http' });
    assert.equal(result.outcome, 'error');
    assert.equal(result.error?.errorType, 'Runtime.InvalidResponse');
    assert.equal(fns.runtime.stats().perFunction.find((f) => f.functionName === 'hostile')?.warm, 1, 'the isolate was kept');
  });

  it('rejects modules that import anything', async () => {
    await assert.rejects(fns.runtime.validateCode(`import fs from 'node:fs'; export const handler = () => fs`),
      (err) => isIsletError(err, 'InvalidCode') && /imports are not supported/.test(err.message));
    const found = await probe(fns, 'dyn', `try { await import('node:fs'); return 'imported' } catch (err) { return String(err) }`);
    assert.notEqual(found, 'imported');
  });
});
