// Guards for V8 builtins that never check for termination while they loop. Runs once per
// context, after the web prelude and before the host-bridge bootstrap, in the same script.
// Over a huge (mostly sparse) length, such a builtin runs for seconds to minutes without
// looking at isolated-vm's timeout; isolated-vm then gives up on the isolate ("Script failed
// to terminate") and islet must kill its own process. Each guard checks the length the
// builtin is about to walk and throws a RangeError above a limit that such a builtin still
// finishes well inside isolated-vm's 5 s grace after a timeout (see docs/runtime.md,
// "Builtins that ignore the timeout", for the measurements).
// The originals live only in this closure: function code can replace or delete a guard (as it
// can any builtin of its own isolate) but can never reach the unguarded builtin again.
// Plain JavaScript (not TypeScript): it runs inside V8 isolates, not in Node.
(function isletGuards() {
  'use strict';
  const ReflectApply = Reflect.apply;
  const { defineProperty, getOwnPropertyDescriptor, getPrototypeOf } = Object;
  const ReflectGet = Reflect.get;
  // Read before any guard: the original %TypedArray%.prototype.length getter.
  const TypedArrayProto = getPrototypeOf(Uint8Array.prototype);
  const typedLength = getOwnPropertyDescriptor(TypedArrayProto, 'length').get;
  const ArrayIsArray = Array.isArray;
  const MathTrunc = Math.trunc;
  const MathMin = Math.min;
  const RangeErrorCtor = RangeError;
  const SymbolIterator = Symbol.iterator;
  const SymbolSpreadable = Symbol.isConcatSpreadable;

  /** Elements an array builtin may walk: 2^24 holes take 0.2-0.8 s in the slowest ones. */
  const MAX_ELEMENTS = 2 ** 24;
  /** Above this, an array sort without a comparator gets an equivalent JavaScript one (which can be interrupted). */
  const NATIVE_SORT_ELEMENTS = 2 ** 16;
  /** Entries of String.raw's template: 2^25 took 17 s, so far fewer. */
  const MAX_RAW_ENTRIES = 2 ** 20;
  /** Characters a replace with a string replacement may scan: 2^24 dense matches take ~2 s. */
  const MAX_REPLACE_CHARS = 2 ** 24;
  const MAX_SAFE = 2 ** 53 - 1;

  function tooLong(length, limit, what) {
    return new RangeErrorCtor('Array length ' + length + " is over islet's limit of " + limit + ' for ' + what);
  }

  /** ToLength of `value`, as the builtin will compute it (NaN and negatives are 0). */
  function toLength(value) {
    const n = +value;
    return n > 0 ? MathMin(MathTrunc(n), MAX_SAFE) : 0;
  }

  /** Throws when array-like `o` is longer than `limit`; null/undefined are left to the builtin's own TypeError. */
  function checkLength(o, limit, what) {
    if (o === null || o === undefined) return;
    const length = ArrayIsArray(o) ? o.length : toLength(o.length);
    if (length > limit) throw tooLong(length, limit, what);
  }

  // ---- Proxies: element access through a function's Proxy always runs JavaScript ---------
  // A builtin walking a Proxy whose handler lacks a trap reaches the target natively; with
  // every trap present (forwarding to the function's handler, looked up on each use as the
  // spec does) each step calls JavaScript, which a timeout stops, whatever length the Proxy
  // claims. Proxies made here are remembered, so a guard can tell them from ordinary objects.
  const ProxyCtor = Proxy;
  const ReflectConstruct = Reflect.construct;
  const WeakSetCtor = WeakSet;
  const weakSetHas = WeakSet.prototype.has;
  const weakSetAdd = WeakSet.prototype.add;
  const proxies = new WeakSetCtor();
  const isProxy = (o) => ReflectApply(weakSetHas, proxies, [o]);
  const TRAPS = ['apply', 'construct', 'defineProperty', 'deleteProperty', 'get', 'getOwnPropertyDescriptor',
    'getPrototypeOf', 'has', 'isExtensible', 'ownKeys', 'preventExtensions', 'set', 'setPrototypeOf'];
  const FORWARDS = TRAPS.map((name) => Reflect[name]);
  function everyTrap(handler) {
    if (handler === null || typeof handler !== 'object' && typeof handler !== 'function') return handler; // the constructor's TypeError
    const wrapped = {};
    for (let i = 0; i < TRAPS.length; i++) {
      const name = TRAPS[i];
      const forward = FORWARDS[i];
      wrapped[name] = function (...args) {
        const trap = handler[name];
        return trap === undefined || trap === null ? ReflectApply(forward, undefined, args) : ReflectApply(trap, handler, args);
      };
    }
    return wrapped;
  }
  const originalRevocable = ProxyCtor.revocable;
  defineProperty(ProxyCtor, 'revocable', { value: ({ revocable(target, handler) {
    const result = ReflectApply(originalRevocable, ProxyCtor, [target, everyTrap(handler)]);
    ReflectApply(weakSetAdd, proxies, [result.proxy]);
    return result;
  } }).revocable, writable: true, enumerable: false, configurable: true });
  const GuardedProxy = new ProxyCtor(ProxyCtor, { construct(target, args) {
    const proxy = ReflectConstruct(target, [args[0], everyTrap(args[1])]);
    ReflectApply(weakSetAdd, proxies, [proxy]);
    return proxy;
  } });
  defineProperty(globalThis, 'Proxy', { value: GuardedProxy, writable: true, enumerable: false, configurable: true });

  /**
   * The receiver to hand an Array method: `o` itself when the length the guard checks is the
   * one the builtin will see (arrays, primitives, Proxies, data properties, the typed-array
   * getter), else `o` behind a Proxy whose `length` is the value the guard read once (a
   * `length` getter could answer small to the guard and huge to the builtin).
   */
  function guardReceiver(o, limit, what) {
    if (o === null || o === undefined) return o;
    if (ArrayIsArray(o) || typeof o !== 'object' && typeof o !== 'function' || isProxy(o)) {
      checkLength(o, limit, what);
      return o;
    }
    let holder = o;
    let descriptor;
    while (holder !== null && !isProxy(holder)) {
      descriptor = getOwnPropertyDescriptor(holder, 'length');
      if (descriptor !== undefined) break;
      holder = getPrototypeOf(holder);
    }
    if (descriptor === undefined || descriptor.get === undefined || descriptor.get === typedLength) {
      checkLength(o, limit, what);
      return o;
    }
    const length = toLength(ReflectApply(descriptor.get, o, []));
    if (length > limit) throw tooLong(length, limit, what);
    const pinned = new ProxyCtor(o, { get(target, key, receiver) {
      return key === 'length' ? length : ReflectGet(target, key, receiver === pinned ? target : receiver);
    } });
    return pinned;
  }


  /** Replaces `holder[key]` with `makeGuard(original)`, keeping name, length and attributes. */
  function guard(holder, key, makeGuard) {
    const descriptor = getOwnPropertyDescriptor(holder, key);
    const original = descriptor.value;
    const guarded = makeGuard(original);
    defineProperty(guarded, 'name', { value: original.name, configurable: true });
    defineProperty(guarded, 'length', { value: original.length, configurable: true });
    defineProperty(holder, key, { value: guarded, writable: descriptor.writable, enumerable: descriptor.enumerable, configurable: descriptor.configurable });
  }

  // Method shorthand: no prototype and not a constructor, like the builtins they stand for.
  function lengthGuard(name, limit) {
    return (original) => ({ [name](...args) {
      // Arrays first, calling with `this` itself: going through guardReceiver's result made
      // `map` over 1,000 elements 3x slower (V8 no longer inlines the callback).
      if (ArrayIsArray(this)) {
        if (this.length > limit) throw tooLong(this.length, limit, 'Array.prototype.' + name);
        return ReflectApply(original, this, args);
      }
      const receiver = guardReceiver(this, limit, 'Array.prototype.' + name);
      const result = ReflectApply(original, receiver, args);
      // A method that returns its receiver (reverse, fill, ...) returns the caller's object.
      return result === receiver ? this : result;
    } })[name];
  }

  const ArrayProto = Array.prototype;
  for (const name of [
    'copyWithin', 'every', 'fill', 'filter', 'find', 'findIndex', 'findLast', 'findLastIndex', 'forEach',
    'includes', 'indexOf', 'join', 'lastIndexOf', 'map', 'reduce', 'reduceRight', 'reverse', 'shift',
    'slice', 'some', 'splice', 'toLocaleString', 'toReversed', 'toSpliced', 'unshift', 'with',
  ]) guard(ArrayProto, name, lengthGuard(name, MAX_ELEMENTS));

  /** SortCompare without a comparator (ECMA-262 23.1.3.30.2), as JavaScript that a timeout can stop. */
  function defaultCompare(x, y) {
    const a = `${x}`;
    const b = `${y}`;
    return a < b ? -1 : b < a ? 1 : 0;
  }
  for (const name of ['sort', 'toSorted']) {
    guard(ArrayProto, name, (original) => ({ [name](comparefn) {
      const receiver = guardReceiver(this, MAX_ELEMENTS, 'Array.prototype.' + name);
      // V8's native comparison never checks for termination: 2^20 random numbers sort for ~4 s.
      const compare = comparefn === undefined && receiver !== null && receiver !== undefined
        && toLength(receiver.length) > NATIVE_SORT_ELEMENTS ? defaultCompare : comparefn;
      const result = ReflectApply(original, receiver, [compare]);
      return result === receiver ? this : result;
    } })[name]);
  }

  guard(ArrayProto, 'concat', (original) => ({ concat(...items) {
    let total = 0;
    for (const o of [this, ...items]) {
      if (o === null || typeof o !== 'object' && typeof o !== 'function') continue;
      // An array counts even when not spreadable: a getter could answer differently to V8.
      if (ArrayIsArray(o) || o[SymbolSpreadable]) {
        total += ArrayIsArray(o) ? o.length : toLength(o.length);
        if (total > MAX_ELEMENTS) throw tooLong(total, MAX_ELEMENTS, 'Array.prototype.concat');
      }
    }
    return ReflectApply(original, this, items);
  } }).concat);

  /** Sums the lengths of the arrays `flat` would walk down to `depth` (walking them in JavaScript, which a timeout can stop). */
  function checkFlat(array, depth, total, what) {
    const length = array.length;
    for (let i = 0; i < length; i++) {
      const element = array[i];
      if (!ArrayIsArray(element)) continue;
      total += element.length;
      if (total > MAX_ELEMENTS) throw tooLong(total, MAX_ELEMENTS, what);
      if (depth > 1) total = checkFlat(element, depth - 1, total, what);
    }
    return total;
  }
  guard(ArrayProto, 'flat', (original) => ({ flat(depth) {
    const receiver = guardReceiver(this, MAX_ELEMENTS, 'Array.prototype.flat');
    const d = depth === undefined ? 1 : MathTrunc(+depth);
    if (d >= 1 && receiver !== null && receiver !== undefined) checkFlat(receiver, d, toLength(receiver.length), 'Array.prototype.flat');
    return ReflectApply(original, receiver, [depth]);
  } }).flat);
  guard(ArrayProto, 'flatMap', (original) => ({ flatMap(callback, thisArg) {
    const receiver = guardReceiver(this, MAX_ELEMENTS, 'Array.prototype.flatMap');
    if (typeof callback !== 'function') return ReflectApply(original, receiver, [callback, thisArg]);
    let total = 0;
    // The callback's arrays are flattened natively: count them as they come.
    return ReflectApply(original, receiver, [function (element, index, array) {
      const result = ReflectApply(callback, thisArg, [element, index, array]);
      if (ArrayIsArray(result)) {
        total += result.length;
        if (total > MAX_ELEMENTS) throw tooLong(total, MAX_ELEMENTS, 'Array.prototype.flatMap');
      }
      return result;
    }]);
  } }).flatMap);

  guard(Array, 'from', (original) => ({ from(items, ...rest) {
    if (items !== null && items !== undefined && (items[SymbolIterator] === undefined || items[SymbolIterator] === null)) {
      checkLength(items, MAX_ELEMENTS, 'Array.from');
    }
    return ReflectApply(original, this, [items, ...rest]);
  } }).from);

  // %TypedArray%.prototype.sort/toSorted without a comparator sort natively: a 2^27-element
  // Float64Array takes over 5 s. The length comes from the original getter, not a patched one.
  for (const name of ['sort', 'toSorted']) {
    guard(TypedArrayProto, name, (original) => ({ [name](comparefn) {
      if (comparefn === undefined) {
        let length = 0;
        try { length = ReflectApply(typedLength, this, []); } catch { /* not a typed array: the original throws */ }
        if (length > MAX_ELEMENTS) throw tooLong(length, MAX_ELEMENTS, '%TypedArray%.prototype.' + name + ' without a comparator');
      }
      return ReflectApply(original, this, [comparefn]);
    } })[name]);
  }

  // new Uint8Array(arrayLike) and Uint8Array.from(arrayLike) copy element by element natively:
  // over 2^31 holes (memoryMb 2048 lets the buffer through) that is a hang. Buffers and typed
  // arrays are copied by memcpy and stay unguarded.
  const ArrayBufferIsView = ArrayBuffer.isView;
  const ArrayBufferCtor = ArrayBuffer;
  const SharedArrayBufferCtor = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : ArrayBuffer;
  function checkTypedSource(source, what) {
    if (source === null || typeof source !== 'object' || ArrayBufferIsView(source)
      || source instanceof ArrayBufferCtor || source instanceof SharedArrayBufferCtor) return;
    if (ArrayIsArray(source) || source[SymbolIterator] === undefined || source[SymbolIterator] === null) checkLength(source, MAX_ELEMENTS, what);
  }
  const TypedArrayCtor = TypedArrayProto.constructor;
  guard(TypedArrayCtor, 'from', (original) => ({ from(source, ...rest) {
    checkTypedSource(source, '%TypedArray%.from');
    return ReflectApply(original, this, [source, ...rest]);
  } }).from);
  for (const name of ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
    'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array']) {
    const Ctor = globalThis[name];
    if (typeof Ctor !== 'function') continue;
    // A Proxy keeps identity-like behaviour (prototype, statics, subclassing, instanceof); the
    // prototype's `constructor` points at it so that the original is not reachable either.
    const guarded = new Proxy(Ctor, { construct(target, args, newTarget) {
      checkTypedSource(args[0], name);
      return ReflectConstruct(target, args, newTarget === guarded ? target : newTarget);
    } });
    defineProperty(Ctor.prototype, 'constructor', { value: guarded, writable: true, enumerable: false, configurable: true });
    defineProperty(globalThis, name, { value: guarded, writable: true, enumerable: false, configurable: true });
  }

  guard(String, 'raw', (original) => ({ raw(template, ...substitutions) {
    if (template !== null && template !== undefined) checkLength(Object(template).raw, MAX_RAW_ENTRIES, 'String.raw');
    return ReflectApply(original, this, [template, ...substitutions]);
  } }).raw);

  // A global replace with a string replacement builds its result natively, match after match.
  function checkReplace(subject, replaceValue, what) {
    if (typeof replaceValue !== 'function' && subject.length > MAX_REPLACE_CHARS) {
      throw new RangeErrorCtor('String length ' + subject.length + " is over islet's limit of " + MAX_REPLACE_CHARS + ' for ' + what + ' with a string replacement');
    }
  }
  for (const name of ['replace', 'replaceAll']) {
    guard(String.prototype, name, (original) => ({ [name](searchValue, replaceValue) {
      if (this === null || this === undefined) return ReflectApply(original, this, [searchValue, replaceValue]);
      const subject = typeof this === 'string' ? this : `${this}`;
      checkReplace(subject, replaceValue, 'String.prototype.' + name);
      return ReflectApply(original, subject, [searchValue, replaceValue]);
    } })[name]);
  }
  guard(RegExp.prototype, Symbol.replace, (original) => ({ [Symbol.replace](string, replaceValue) {
    const subject = `${string}`;
    checkReplace(subject, replaceValue, 'RegExp.prototype[Symbol.replace]');
    return ReflectApply(original, this, [subject, replaceValue]);
  } })[Symbol.replace]);
})();
