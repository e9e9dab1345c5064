import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InvocationResult } from '../invoke/types.ts';
import { TestFunctions } from './testing.ts';

/**
 * Every case once crashed the whole process (isolated-vm: "Script failed to terminate") before
 * the guards of prelude/guards.js; measured in a child process, see docs/runtime.md. A guard
 * that stops working therefore fails this file by killing its test process.
 */
const GUARDED: Record<string, string> = {
  reverse: `huge().reverse()`,
  fill: `new Array(2 ** 28).fill(1)`,
  indexOf: `huge().indexOf(1)`,
  lastIndexOf: `huge().lastIndexOf(1)`,
  includes: `huge().includes(1)`,
  map: `huge().map((x) => x)`,
  forEach: `huge().forEach((x) => x)`,
  filter: `huge().filter((x) => x)`,
  some: `huge().some((x) => x)`,
  every: `huge().every((x) => x)`,
  findLast: `huge().findLast((x) => x)`,
  reduce: `huge().reduce((a, x) => x, 0)`,
  reduceRight: `huge().reduceRight((a, x) => x, 0)`,
  sort: `huge().sort()`,
  sortWithComparator: `huge().sort((a, b) => a - b)`,
  toSorted: `huge().toSorted()`,
  unshift: `new Array(2 ** 31 - 2).unshift(1)`,
  shift: `huge().shift()`,
  join: `huge().join('')`,
  toString: `huge().toString()`,
  toLocaleString: `huge().toLocaleString()`,
  slice: `huge().slice(1)`,
  splice: `huge().splice(0, 0, 1)`,
  concat: `[1].concat(huge())`,
  concatSpreadable: `[].concat({ length: 2 ** 31, [Symbol.isConcatSpreadable]: true })`,
  flat: `huge().flat()`,
  flatNested: `[[1], new Array(2 ** 24), new Array(2 ** 24)].flat()`,
  flatMap: `[1, 2].flatMap(() => new Array(2 ** 24))`,
  copyWithin: `huge().copyWithin(0, 1)`,
  toReversed: `huge().toReversed()`,
  with: `huge().with(0, 1)`,
  toSpliced: `huge().toSpliced(0, 0)`,
  arrayFrom: `Array.from({ length: 2 ** 31 })`,
  subclassFrom: `(class extends Array {}).from({ length: 2 ** 31 })`,
  genericReverse: `Array.prototype.reverse.call({ length: 2 ** 53 - 1 })`,
  genericJoin: `Array.prototype.join.call({ length: 2 ** 31 }, '')`,
  genericFill: `Array.prototype.fill.call({ length: 2 ** 31 }, 1)`,
  lengthSetter: `(() => { const a = []; a.length = 2 ** 31 - 1; return a.reverse() })()`,
  indexWrite: `(() => { const a = []; a[2 ** 32 - 2] = 1; return a.indexOf(2) })()`,
  mapFromFill: `new Map(new Array(2 ** 27).fill([1, 1]))`,
  stringRaw: `String.raw({ raw: { length: 2 ** 31 } })`,
  replaceAll: `'a'.repeat(2 ** 26).replaceAll('a', 'bb')`,
  regexpReplace: `/a/g[Symbol.replace]('a'.repeat(2 ** 26), 'bb')`,
  typedFromArrayLike: `new Uint8Array({ length: 2 ** 31 })`,
  typedFrom: `Float64Array.from({ length: 2 ** 31 })`,
  typedSort: `new Uint8Array(2 ** 25).sort()`,
  typedToSorted: `new Int8Array(2 ** 25).toSorted()`,
};

/** Huge array-likes that V8 already refuses (RangeError) or stops at the timeout. */
const NATIVE: Record<string, string> = {
  apply: `Math.max.apply(null, { length: 2 ** 31 })`,
  reflectApply: `Reflect.apply(Math.max, null, { length: 2 ** 31 })`,
  fromCharCode: `String.fromCharCode.apply(null, { length: 2 ** 31 })`,
  construct: `Reflect.construct(Array, { length: 2 ** 31 })`,
  jsonStringify: `JSON.stringify(huge())`,
  spread: `[...huge()]`,
  spreadCall: `Math.max(...huge())`,
  arrayFromIterable: `Array.from(huge())`,
  setFromArray: `new Set(huge())`,
  promiseAll: `Promise.all(huge())`,
  // Past 2^16 elements a comparator-less sort compares in JavaScript, which the timeout stops.
  bigSort: `Array.from({ length: 2 ** 22 }, Math.random).sort()`,
};

/** A length that answers small to the guard and huge to the builtin. */
const RACES: Record<string, string> = {
  getter: `Array.prototype.reverse.call(flipping()) && 'pinned'`,
  inheritedGetter: `Array.prototype.fill.call(Object.create(flipping()), 1) && 'pinned'`,
  getterIndexOf: `Array.prototype.indexOf.call(flipping(), 1)`,
  proxyOfArray: `new Proxy([], flippingHandler()).reverse()`,
  proxyOfObject: `Array.prototype.lastIndexOf.call(new Proxy({}, flippingHandler()), 1)`,
  revocable: `Proxy.revocable([], flippingHandler()).proxy.indexOf(1)`,
  behindProxy: `Array.prototype.reverse.call(Object.create(new Proxy({}, flippingHandler())))`,
};

function caseModule(cases: Record<string, string>): string {
  const entries = Object.entries(cases).map(([name, code]) => `${JSON.stringify(name)}: () => ${code}`);
  return `const huge = () => new Array(2 ** 31 - 1);
    const flip = () => { let n = 0; return () => (n++ === 0 ? 1 : 2 ** 31 - 1) };
    const flipping = () => { const next = flip(); return { get length() { return next() } } };
    const flippingHandler = () => { const next = flip(); return { get(t, k) { return k === 'length' ? next() : t[k] } } };
    const cases = { ${entries.join(',\n')} };
    export async function handler(event) { const value = await cases[event.name](); return typeof value === 'object' ? 'object' : value }`;
}

describe('builtins that ignore termination are guarded', () => {
  let fns: TestFunctions;
  before(async () => {
    fns = new TestFunctions();
    await fns.deploy('neighbour', `export async function handler() { return [3, 1, 2].sort().map((x) => x * 2).join() }`);
    await fns.deploy('guarded', caseModule(GUARDED), { timeoutMs: 1_000 });
    await fns.deploy('native', caseModule(NATIVE), { timeoutMs: 300 });
    await fns.deploy('races', caseModule(RACES), { timeoutMs: 300 });
  });
  after(() => fns.close());

  function invoke(name: string, event: unknown): Promise<InvocationResult> {
    return fns.runtime.invoke(name, { kind: 'event', json: JSON.stringify(event) }, { trigger: 'invoke' });
  }

  async function neighbourIsFine(): Promise<void> {
    const result = await invoke('neighbour', {});
    assert.equal(result.outcome, 'success', JSON.stringify(result.error));
    assert.equal(JSON.parse((result.value as { json: string }).json), '2,4,6');
  }

  it('fails each known trigger with a RangeError naming the limit, keeping the isolate', async () => {
    for (const name of Object.keys(GUARDED)) {
      const result = await invoke('guarded', { name });
      assert.equal(result.outcome, 'error', `${name}: ${result.outcome} ${JSON.stringify(result.error)}`);
      assert.equal(result.error?.errorType, 'RangeError', name);
      assert.match(result.error?.errorMessage ?? '', /^(Array|String) length \d+ is over islet's limit of \d+ for /, name);
    }
    // A RangeError is an ordinary failure: the same warm isolate served every case.
    assert.equal(fns.runtime.stats().perFunction.find((f) => f.functionName === 'guarded')?.warm, 1);
    await neighbourIsFine();
  });

  it('leaves the huge cases V8 handles itself to V8: a RangeError or the timeout', async () => {
    for (const name of Object.keys(NATIVE)) {
      const result = await invoke('native', { name });
      assert.ok(result.outcome === 'error' || result.outcome === 'timeout' || result.outcome === 'memory', `${name}: ${result.outcome}`);
      assert.match(String(result.error?.errorType), /^(RangeError|TypeError|Function\.Timeout|Function\.MemoryLimitExceeded)$/, `${name}: ${JSON.stringify(result.error)}`);
    }
    await neighbourIsFine();
  });

  it('pins a length getter to its first answer and makes Proxies run JavaScript at each step', async () => {
    const expected: Record<string, unknown> = { getter: 'pinned', inheritedGetter: 'pinned', getterIndexOf: -1 };
    for (const name of Object.keys(RACES)) {
      const result = await invoke('races', { name });
      if (name in expected) {
        assert.equal(result.outcome, 'success', `${name}: ${JSON.stringify(result.error)}`);
        assert.deepEqual(JSON.parse((result.value as { json: string }).json), expected[name], name);
      } else {
        // V8 walks the Proxy's full 2^31 claim, but through JavaScript traps: the timeout ends it.
        assert.equal(result.outcome, 'timeout', `${name}: ${result.outcome} ${JSON.stringify(result.error)}`);
      }
    }
    await neighbourIsFine();
  });

  it('cannot be undone or bypassed from function code', async () => {
    await fns.deploy('undo', `const huge = () => new Array(2 ** 31 - 1);
      const stopped = (f) => { try { f(); return 'ran' } catch (err) { return /islet's limit/.test(err.message) ? 'guarded' : String(err) } };
      export async function handler() {
        const reverse = Array.prototype.reverse;
        const shape = { name: reverse.name, length: reverse.length, enumerable: Array.prototype.propertyIsEnumerable('reverse'),
          hasPrototype: 'prototype' in reverse, constructible: (() => { try { new reverse(); return true } catch { return false } })(),
          typedSame: new Uint8Array(1) instanceof Uint8Array && new Uint8Array(1).constructor === Uint8Array && Uint8Array.name === 'Uint8Array',
          sortLength: Array.prototype.sort.length, fromLength: Array.from.length };
        const reached = [
          stopped(() => [].reverse.call(huge())),
          stopped(() => Reflect.get(Array.prototype, 'reverse').call(huge())),
          stopped(() => Object.getOwnPropertyDescriptor(Array.prototype, 'reverse').value.call(huge())),
          stopped(() => Reflect.apply(Object.getPrototypeOf([]).indexOf, huge(), [1])),
          stopped(() => Function.prototype.call.call([].lastIndexOf, huge(), 1)),
          stopped(() => [].map.bind(huge())((x) => x)),
          stopped(() => huge().toString()),
          stopped(() => new (new Uint8Array(1).constructor)({ length: 2 ** 31 })),
          stopped(() => new (Object.getPrototypeOf(new Int16Array(1)).constructor)({ length: 2 ** 31 })),
          stopped(() => new (class extends Uint8Array {})({ length: 2 ** 31 })),
          stopped(() => Object.getPrototypeOf(Uint8Array).from({ length: 2 ** 31 })),
          stopped(() => ''.replaceAll.call('a'.repeat(2 ** 26), 'a', 'b')),
          stopped(() => String.prototype.replace.call({ toString: () => 'a'.repeat(2 ** 26) }, /a/g, 'b')),
        ];
        // Replacing or deleting a guard changes only this isolate and never brings the original back.
        Array.prototype.map = function mine() { return 'patched' };
        Object.defineProperty(Array.prototype, 'indexOf', { value: null });
        delete Array.prototype.reverse;
        const afterwards = { map: [1].map(), indexOf: [].indexOf, reverse: typeof [].reverse, fromObject: typeof Object.prototype.reverse };
        return { shape, reached, afterwards };
      }`);
    const result = await invoke('undo', {});
    assert.equal(result.outcome, 'success', JSON.stringify(result.error));
    const { shape, reached, afterwards } = JSON.parse((result.value as { json: string }).json);
    assert.deepEqual(shape, { name: 'reverse', length: 0, enumerable: false, hasPrototype: false, constructible: false, typedSame: true, sortLength: 1, fromLength: 1 });
    assert.deepEqual(reached, Array(reached.length).fill('guarded'));
    assert.equal(reached.length, 13);
    assert.deepEqual(afterwards, { map: 'patched', indexOf: null, reverse: 'undefined', fromObject: 'undefined' });
    await neighbourIsFine();
  });

  it('keeps ordinary array, typed array and string code working', async () => {
    await fns.deploy('ordinary', `export async function handler() {
      const lexical = (a, b) => (String(a) < String(b) ? -1 : String(b) < String(a) ? 1 : 0);
      const big = Array.from({ length: 2 ** 16 + 5 }, (_, i) => (i * 7919) % 100003);
      const sortedBig = big.slice().sort();
      const limit = new Array(2 ** 24);
      return {
        sort: [10, 9, 1, undefined, , 'b', 'a'].sort(),
        sortLength: [10, 9, 1, undefined, , 'b', 'a'].sort().length,
        bigSortIsLexical: JSON.stringify(sortedBig) === JSON.stringify(big.slice().sort(lexical)),
        bigToSorted: JSON.stringify(big.toSorted()) === JSON.stringify(sortedBig),
        reverseReturnsThis: (() => { const a = [1, 2]; return a.reverse() === a })(),
        genericReturnsThis: (() => { const o = { length: 2, 0: 'a', 1: 'b' }; return Array.prototype.reverse.call(o) === o && o[0] === 'b' })(),
        args: (function () { return Array.prototype.slice.call(arguments, 1) })(1, 2, 3),
        map: [1, 2, 3].map(function (x) { return x * this.k }, { k: 2 }),
        flatMap: [1, 2].flatMap(function (x) { return [x, this.k] }, { k: 0 }),
        flat: [1, [2, [3, [4]]]].flat(Infinity),
        concat: [1].concat([2], 3, { length: 1, 0: 4, [Symbol.isConcatSpreadable]: true }),
        from: Array.from({ length: 3 }, (_, i) => i),
        fromSet: Array.from(new Set([1, 1, 2])),
        atLimit: limit.indexOf(1) === -1 && limit.includes(undefined) && limit.fill(0, 0, 2)[1] === 0,
        typed: Array.from(new Float64Array([3, -0, 0, NaN, 1]).sort()).map(String),
        typedFrom: Array.from(Uint8Array.from({ length: 2, 0: 7, 1: 300 })),
        typedSubclass: (() => { class U extends Uint8Array {} const u = new U([1, 2]); return u instanceof U && u instanceof Uint8Array && u.map((x) => x * 2) instanceof U })(),
        typedBuffer: new Uint16Array(new ArrayBuffer(4)).length,
        proxy: (() => { const seen = []; const handler = { get(t, k, r) { seen.push(String(k)); return Reflect.get(t, k, r) } };
          const p = new Proxy([1, 2], handler); const doubled = p.map((x) => x * 2);
          handler.has = () => false; const late = 0 in p;
          const { proxy, revoke } = Proxy.revocable({}, {}); revoke();
          let revoked = false; try { proxy.x } catch { revoked = true }
          return { doubled, sawLength: seen.includes('length'), late, revoked, isArray: Array.isArray(p) } })(),
        raw: String.raw\`a\${1}b\`,
        replace: 'a-b-c'.replaceAll('-', '+') + 'x1'.replace(/(\\d)/, '[$1]') + 'aaa'.replace(/a/g, (m) => m.toUpperCase()),
      };
    }`, { memoryMb: 512, timeoutMs: 10_000 });
    const result = await invoke('ordinary', {});
    assert.equal(result.outcome, 'success', JSON.stringify(result.error));
    assert.deepEqual(JSON.parse((result.value as { json: string }).json), {
      sort: [1, 10, 9, 'a', 'b', null, null], sortLength: 7, bigSortIsLexical: true, bigToSorted: true,
      reverseReturnsThis: true, genericReturnsThis: true, args: [2, 3], map: [2, 4, 6], flatMap: [1, 0, 2, 0],
      flat: [1, 2, 3, 4], concat: [1, 2, 3, 4], from: [0, 1, 2], fromSet: [1, 2], atLimit: true,
      typed: ['0', '0', '1', '3', 'NaN'], typedFrom: [7, 44], typedSubclass: true, typedBuffer: 2,
      proxy: { doubled: [2, 4], sawLength: true, late: false, revoked: true, isArray: true },
      raw: 'a1b', replace: 'a+b+cx[1]AAA',
    });
  });
});
