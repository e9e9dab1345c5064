// The host bridge of every isolate. Runs once per context, right after the web prelude, in the
// same script. Its completion value is the bootstrap function: the host calls it with its
// callbacks (plain functions inside the isolate, never isolated-vm objects) and keeps the
// returned api object for itself. Nothing here is reachable from function code except the
// globals it installs, which close over the callbacks.
// Plain JavaScript (not TypeScript): it runs inside V8 isolates, not in Node.
(function isletBootstrap(hostLog, hostRandom, hostFetch, hostAbortFetch, hostWake) {
  'use strict';
  const g = globalThis;
  // Primordials: captured now, so function code that patches builtins cannot steer the bridge.
  const { defineProperty, freeze, keys, getPrototypeOf } = Object;
  const ReflectApply = Reflect.apply;
  const JSONstringify = JSON.stringify;
  const JSONparse = JSON.parse;
  const StringCtor = String;
  const PromiseCtor = Promise;
  const PromiseResolve = Promise.resolve.bind(Promise);
  const PromiseAllSettled = Promise.allSettled.bind(Promise);
  const promiseThen = Promise.prototype.then;
  const MapCtor = Map;
  const U8 = Uint8Array;
  const ArrayBufferIsView = ArrayBuffer.isView;
  const DateNow = Date.now;
  const DateCtor = Date;
  const MathMax = Math.max;
  const MathMin = Math.min;
  const TypeErrorCtor = TypeError;
  const RequestCtor = g.Request;
  const ResponseCtor = g.Response;
  // DOMException is a lazy global of the web prelude: look it up only when needed.
  const domException = (message, name) => new g.DOMException(message, name);
  const then = (p, ok, fail) => ReflectApply(promiseThen, p, [ok, fail]);

  // ---- per-invocation state -------------------------------------------------------------
  let fn = { name: '', version: '$LATEST', memoryLimitMb: 128, env: freeze({}) };
  let mod = null;
  let shape = null;
  /** The running invocation: id, deadline, waitUntil promises, result promise. */
  let inv = null;
  let logOpen = true;

  // ---- console --------------------------------------------------------------------------
  function inspect(value, depth, seen) {
    switch (typeof value) {
      case 'string': return depth === 0 ? value : JSONstringify(value);
      case 'number': case 'boolean': case 'undefined': return StringCtor(value);
      case 'bigint': return StringCtor(value) + 'n';
      case 'symbol': return value.toString();
      case 'function': return '[Function: ' + (value.name || 'anonymous') + ']';
    }
    if (value === null) return 'null';
    if (value instanceof Error) return value.stack ? StringCtor(value.stack) : value.name + ': ' + value.message;
    if (seen.includes(value)) return '[Circular]';
    if (depth > 3) return Array.isArray(value) ? '[Array]' : '[Object]';
    seen.push(value);
    try {
      if (value instanceof DateCtor) return value.toISOString();
      if (ArrayBufferIsView(value)) return value.constructor.name + '(' + value.length + ')';
      if (Array.isArray(value)) {
        const items = [];
        for (let i = 0; i < value.length && i < 100; i++) items.push(inspect(value[i], depth + 1, seen));
        if (value.length > 100) items.push('... ' + (value.length - 100) + ' more items');
        return '[ ' + items.join(', ') + ' ]';
      }
      if (value instanceof MapCtor) return 'Map(' + value.size + ')';
      const parts = [];
      for (const key of keys(value).slice(0, 100)) parts.push(key + ': ' + inspect(value[key], depth + 1, seen));
      return '{ ' + parts.join(', ') + ' }';
    } catch (err) {
      return '[Uninspectable]';
    } finally {
      seen.pop();
    }
  }
  // One line never carries more than the per-invocation log cap across to the host.
  const MAX_LINE_CHARS = 262144;
  function emit(level, args) {
    if (!logOpen) return;
    let message;
    try {
      const parts = [];
      for (let i = 0; i < args.length; i++) parts.push(inspect(args[i], 0, []));
      message = parts.join(' ');
    } catch (err) {
      message = '[unprintable log line]';
    }
    if (message.length > MAX_LINE_CHARS) message = message.slice(0, MAX_LINE_CHARS) + '... [line truncated]';
    if (hostLog(level, message) === false) logOpen = false;
  }
  const console = freeze({
    log: (...args) => emit('info', args),
    info: (...args) => emit('info', args),
    warn: (...args) => emit('warn', args),
    error: (...args) => emit('error', args),
    debug: (...args) => emit('debug', args),
    trace: (...args) => emit('debug', args),
  });
  function reportUncaught(err) {
    emit('error', ['Uncaught', err]);
  }

  // ---- timers ---------------------------------------------------------------------------
  // All of an isolate's timers share one host timer, set for the earliest one due: a storm of
  // timers costs this isolate's own thread, not Node's main thread (which serves every
  // function). Still capped, so a loop of setTimeout() cannot grow without bound.
  const MAX_TIMERS = 10000;
  let nextTimerId = 1;
  const timers = new MapCtor();
  /** Epoch ms the host timer is set for (Infinity: none). */
  let wakeAt = Infinity;
  function wake(due) {
    if (due >= wakeAt) return;
    wakeAt = due;
    hostWake(MathMax(0, due - DateNow()));
  }
  function addTimer(callback, ms, args, repeat) {
    if (typeof callback !== 'function') throw new TypeErrorCtor('The "callback" argument must be a function');
    if (timers.size >= MAX_TIMERS) throw new RangeError('Too many pending timers (at most ' + MAX_TIMERS + ')');
    // As in Node: at least 1 ms, so an interval of 0 cannot run twice in one wake-up.
    const delay = MathMin(MathMax(1, Number(ms) || 0), 2147483647);
    const id = nextTimerId++;
    const due = DateNow() + delay;
    timers.set(id, { callback, args, repeat, delay, due });
    wake(due);
    return id;
  }
  function clearTimer(id) {
    // The host timer stays: waking with nothing due only sets the next one.
    timers.delete(id);
  }
  /** The host timer fired: runs every timer due by now, in order, then sets the next wake-up. */
  function runDueTimers() {
    wakeAt = Infinity;
    const now = DateNow();
    const due = [];
    for (const entry of timers) if (entry[1].due <= now) due.push(entry);
    due.sort((a, b) => a[1].due - b[1].due || a[0] - b[0]);
    for (const [id, timer] of due) {
      // An earlier callback may have cleared this one.
      if (timers.get(id) !== timer) continue;
      if (timer.repeat) timer.due = DateNow() + timer.delay;
      else timers.delete(id);
      try { ReflectApply(timer.callback, undefined, timer.args); } catch (err) { reportUncaught(err); }
    }
    let next = Infinity;
    for (const timer of timers.values()) if (timer.due < next) next = timer.due;
    if (next !== Infinity) wake(next);
  }
  function dropTimers() {
    timers.clear();
    wakeAt = Infinity;
  }

  // ---- pending host calls (fetch) -------------------------------------------------------
  let nextCallId = 1;
  const calls = new MapCtor();
  function callHost(start) {
    return new PromiseCtor((resolve, reject) => {
      const id = nextCallId++;
      calls.set(id, { resolve, reject });
      start(id);
    });
  }

  // ---- crypto, performance ------------------------------------------------------------------
  const INTEGER_ARRAYS = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
    'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'];
  const typedArrayTag = Object.getOwnPropertyDescriptor(getPrototypeOf(U8.prototype), Symbol.toStringTag).get;
  let entropy = new U8(0);
  let entropyAt = 0;
  function randomBytes(n) {
    if (n > 1024) return hostRandom(n);
    if (entropyAt + n > entropy.length) { entropy = hostRandom(4096); entropyAt = 0; }
    const out = entropy.subarray(entropyAt, entropyAt + n);
    entropyAt += n;
    return out;
  }
  function getRandomValues(array) {
    const tag = ArrayBufferIsView(array) ? ReflectApply(typedArrayTag, array, []) : undefined;
    if (!INTEGER_ARRAYS.includes(tag)) {
      throw domException('The data argument must be an integer-type TypedArray', 'TypeMismatchError');
    }
    if (array.byteLength > 65536) {
      throw domException('The requested length exceeds 65,536 bytes', 'QuotaExceededError');
    }
    new U8(array.buffer, array.byteOffset, array.byteLength).set(randomBytes(array.byteLength));
    return array;
  }
  const HEX = [];
  for (let i = 0; i < 256; i++) HEX.push((i + 0x100).toString(16).slice(1));
  function randomUUID() {
    const b = new U8(16);
    b.set(randomBytes(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let s = '';
    for (let i = 0; i < 16; i++) s += HEX[b[i]] + (i === 3 || i === 5 || i === 7 || i === 9 ? '-' : '');
    return s;
  }
  const crypto = freeze({ getRandomValues, randomUUID });
  const timeOrigin = DateNow();
  const performance = freeze({ timeOrigin, now: () => DateNow() - timeOrigin });

  // ---- fetch ----------------------------------------------------------------------------
  const NULL_BODY_STATUS = [101, 103, 204, 205, 304];
  async function fetch(input, init) {
    const request = new RequestCtor(input, init);
    const method = request.method;
    let body = null;
    if (method !== 'GET' && method !== 'HEAD') {
      const buffer = await request.arrayBuffer();
      if (buffer.byteLength > 0) body = new U8(buffer);
    }
    const headers = [];
    request.headers.forEach((value, name) => { headers.push([name, value]); });
    const redirect = typeof request.redirect === 'string' ? request.redirect : 'follow';
    const signal = (init && init.signal) || request.signal;
    const abortReason = () => (signal.reason !== undefined ? signal.reason : domException('This operation was aborted', 'AbortError'));
    if (signal && signal.aborted) throw abortReason();
    const reply = await callHost((id) => {
      hostFetch(id, request.url, method, headers, body, redirect);
      if (signal && typeof signal.addEventListener === 'function') {
        signal.addEventListener('abort', () => {
          const call = calls.get(id);
          if (!call) return;
          calls.delete(id);
          hostAbortFetch(id);
          call.reject(abortReason());
        }, { once: true });
      }
    });
    if (reply.error) throw new TypeErrorCtor(reply.error);
    const nullBody = method === 'HEAD' || NULL_BODY_STATUS.includes(reply.status);
    const status = reply.status < 200 ? 200 : reply.status;
    const response = new ResponseCtor(nullBody ? null : reply.body, { status, statusText: reply.statusText, headers: reply.headers });
    defineProperty(response, 'url', { value: reply.url, enumerable: true });
    defineProperty(response, 'redirected', { value: reply.redirected, enumerable: true });
    return response;
  }

  // ---- install globals --------------------------------------------------------------------
  const installed = {
    console, crypto, performance, fetch,
    setTimeout: (callback, ms, ...args) => addTimer(callback, ms, args, false),
    setInterval: (callback, ms, ...args) => addTimer(callback, ms, args, true),
    clearTimeout: (id) => clearTimer(id),
    clearInterval: (id) => clearTimer(id),
    queueMicrotask(callback) {
      if (typeof callback !== 'function') throw new TypeErrorCtor('The "callback" argument must be a function');
      then(PromiseResolve(), () => { try { callback(); } catch (err) { reportUncaught(err); } });
    },
  };
  for (const name of keys(installed)) {
    const value = installed[name];
    if (typeof value === 'function') freeze(value);
    defineProperty(g, name, { value, writable: false, configurable: false, enumerable: false });
  }
  defineProperty(g, 'self', { value: g, writable: false, configurable: false, enumerable: false });
  // AbortSignal.timeout() needs timers, which only the bridge has.
  const AbortSignalCtor = g.AbortSignal;
  const AbortControllerCtor = g.AbortController;
  if (typeof AbortSignalCtor === 'function' && typeof AbortSignalCtor.timeout !== 'function') {
    defineProperty(AbortSignalCtor, 'timeout', {
      value: function timeout(ms) {
        const controller = new AbortControllerCtor();
        addTimer(() => controller.abort(domException('The operation timed out', 'TimeoutError')), ms, [], false);
        return controller.signal;
      },
      writable: true, configurable: true, enumerable: false,
    });
  }

  // The web prelude's classes stay as the prelude made them (not frozen): its lazily loaded
  // polyfills assign to prototypes, and freezing them breaks those writes. An isolate only
  // ever serves one function, so what its code patches affects nobody else; the bridge above
  // captured everything it needs before function code runs.

  // ---- invocation helpers -----------------------------------------------------------------
  // A thrown error goes to the client: bound what crosses to the host, whatever was thrown.
  const MAX_ERROR_CHARS = 4096;
  const MAX_TRACE_LINES = 50;
  const cut = (text, max) => (text.length > max ? text.slice(0, max) + '...' : text);
  function errorInfo(err) {
    try {
      if (err !== null && (typeof err === 'object' || typeof err === 'function')) {
        const errorType = cut(StringCtor(err.name === undefined ? 'Error' : err.name), 256);
        const errorMessage = cut(StringCtor(err.message === undefined ? '' : err.message), MAX_ERROR_CHARS);
        const stack = typeof err.stack === 'string' ? cut(err.stack, MAX_ERROR_CHARS * 4).split('\n') : [errorType + ': ' + errorMessage];
        const trace = [];
        for (let i = 0; i < stack.length && i < MAX_TRACE_LINES; i++) trace.push(cut(stack[i], MAX_ERROR_CHARS));
        return { errorType, errorMessage, trace };
      }
      return { errorType: 'Error', errorMessage: cut(StringCtor(err), MAX_ERROR_CHARS), trace: [] };
    } catch (inner) {
      return { errorType: 'Error', errorMessage: 'the function threw a value that cannot be described', trace: [] };
    }
  }
  function tooLarge(bytes, cap) {
    const err = new Error('The response is ' + bytes + ' bytes, over the ' + cap + ' byte cap');
    err.name = 'Function.ResponseTooLarge';
    return err;
  }
  function missing(what) {
    const err = new Error('The module exports no ' + what + ' handler');
    err.name = 'Runtime.HandlerNotFound';
    return err;
  }
  function toJson(value, cap) {
    const json = value === undefined ? undefined : JSONstringify(value);
    if (json !== undefined && json.length > cap) throw tooLarge(json.length, cap);
    return { json };
  }
  async function fromResponse(response, cap) {
    if (!(response instanceof ResponseCtor)) {
      throw new TypeErrorCtor('fetch() must return a Response, got ' + (response === null ? 'null' : typeof response));
    }
    const body = new U8(await response.arrayBuffer());
    if (body.byteLength > cap) throw tooLarge(body.byteLength, cap);
    const headers = [];
    const cookies = typeof response.headers.getSetCookie === 'function' ? response.headers.getSetCookie() : null;
    response.headers.forEach((value, name) => {
      if (cookies === null || name !== 'set-cookie') headers.push([StringCtor(name), StringCtor(value)]);
    });
    if (cookies !== null) for (const cookie of cookies) headers.push(['set-cookie', StringCtor(cookie)]);
    // Plain values only: a Response subclass may override getters with anything.
    return { status: Number(response.status) || 0, headers, body };
  }
  function makeRequest(data) {
    const init = { method: data.method, headers: data.headers };
    if (data.body !== null && data.method !== 'GET' && data.method !== 'HEAD') init.body = data.body;
    return new RequestCtor(data.url, init);
  }
  function edgeContext(current) {
    return freeze({
      waitUntil(promise) { current.waitUntil.push(then(PromiseResolve(promise), undefined, reportUncaught)); },
      passThroughOnException() {},
    });
  }
  function lambdaContext(current) {
    return {
      awsRequestId: current.requestId,
      requestId: current.requestId,
      functionName: fn.name,
      functionVersion: fn.version,
      memoryLimitInMB: StringCtor(fn.memoryLimitMb),
      invokedFunctionArn: fn.arn,
      logGroupName: '/islet/functions/' + fn.name,
      logStreamName: fn.logStream,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => MathMax(0, current.deadline - DateNow()),
    };
  }
  function callLambda(event, context) {
    const handler = mod.handler;
    if (handler.length >= 3) {
      return new PromiseCtor((resolve, reject) => {
        const callback = (err, value) => (err ? reject(err) : resolve(value));
        const returned = ReflectApply(handler, mod, [event, context, callback]);
        if (returned !== null && typeof returned === 'object' && typeof returned.then === 'function') then(returned, resolve, reject);
      });
    }
    return ReflectApply(handler, mod, [event, context]);
  }
  function edgeBatch(data, current) {
    const decisions = new MapCtor();
    const decide = (id, decision) => { if (!decisions.has(id)) decisions.set(id, decision); };
    const messages = data.messages.map((m) => freeze({
      id: m.id, subject: m.subject, timestamp: new DateCtor(m.timestamp), attempts: m.attempts,
      headers: m.headers, body: parseBody(m.body),
      ack: () => decide(m.id, { retry: false }),
      retry: (options) => decide(m.id, { retry: true, delaySeconds: options && options.delaySeconds }),
    }));
    const batch = freeze({
      queue: data.queue,
      messages: freeze(messages),
      ackAll: () => { for (const m of messages) decide(m.id, { retry: false }); },
      retryAll: (options) => { for (const m of messages) decide(m.id, { retry: true, delaySeconds: options && options.delaySeconds }); },
    });
    const failures = (thrown) => {
      const out = [];
      for (const m of messages) {
        const d = decisions.get(m.id);
        if ((d && d.retry) || (!d && thrown)) {
          out.push(d && d.delaySeconds !== undefined ? { id: m.id, delaySeconds: Number(d.delaySeconds) } : { id: m.id });
        }
      }
      return { failures: out };
    };
    const result = ReflectApply(mod.default.queue, mod.default, [batch, fn.env, edgeContext(current)]);
    // A throw fails the invocation with the exception; the messages not acked before it stay listed.
    return then(PromiseResolve(result), () => failures(false), (err) => {
      const out = failures(true);
      out.thrown = errorInfo(err);
      return out;
    });
  }
  function parseBody(text) {
    // Workers hands JSON message bodies over parsed; other bodies stay text.
    try { return JSONparse(text); } catch (err) { return text; }
  }

  /** Runs the handler's synchronous part; the host bounds it with isolated-vm's own timeout. */
  function run(data) {
    const current = inv;
    switch (data.kind) {
      case 'http':
        if (shape === 'lambda') return then(PromiseResolve(callLambda(data.event, lambdaContext(current))), (v) => toJson(v, data.maxResponseBytes));
        if (!mod.default || typeof mod.default.fetch !== 'function') throw missing('fetch()');
        return then(PromiseResolve(ReflectApply(mod.default.fetch, mod.default, [makeRequest(data.request), fn.env, edgeContext(current)])),
          (r) => fromResponse(r, data.maxResponseBytes));
      case 'event':
        if (shape === 'lambda') return then(PromiseResolve(callLambda(JSONparse(data.json), lambdaContext(current))), (v) => toJson(v, data.maxResponseBytes));
        if (!mod.default || typeof mod.default.fetch !== 'function') throw missing('fetch()');
        return then(PromiseResolve(ReflectApply(mod.default.fetch, mod.default, [makeRequest(data.request), fn.env, edgeContext(current)])),
          async (r) => {
            const out = await fromResponse(r, data.maxResponseBytes);
            const text = new g.TextDecoder().decode(out.body);
            const type = r.headers.get('content-type') || '';
            if (/\bjson\b/i.test(type)) { try { return { json: JSONstringify(JSONparse(text)) }; } catch (err) { /* not JSON after all */ } }
            return { json: JSONstringify(text) };
          });
      case 'batch':
        if (shape === 'lambda') return then(PromiseResolve(callLambda(data.event, lambdaContext(current))), (v) => toJson(v, data.maxResponseBytes));
        if (!mod.default || typeof mod.default.queue !== 'function') throw missing('queue()');
        return edgeBatch(data, current);
      default:
        throw new TypeErrorCtor('unknown payload kind');
    }
  }

  /** The outcome of an invocation; without waitUntil() work it ends here. */
  function finish(current, outcome) {
    if (current.waitUntil.length === 0) {
      endInvocation(current);
      outcome.settled = true;
    }
    return outcome;
  }

  /** Forgets an invocation's timers: a reused isolate starts the next one clean. */
  function endInvocation(current) {
    dropTimers();
    if (inv === current) inv = null;
  }

  // ---- the host's api ---------------------------------------------------------------------
  return {
    /** Sets the function this isolate serves: its env (process.env / env) and identity. */
    configure(info) {
      // defineProperty, not assignment: an env key named __proto__ must stay a plain key.
      const copyEnv = () => {
        const out = {};
        for (const key of keys(info.env)) defineProperty(out, key, { value: StringCtor(info.env[key]), writable: true, enumerable: true, configurable: true });
        return out;
      };
      // Edge `env` is frozen; Lambda's process.env stays writable (libraries set variables in
      // it, as on Lambda) but is this isolate's own copy, so writes reach no other isolate.
      const env = freeze(copyEnv());
      fn = freeze({ name: info.name, version: info.version, memoryLimitMb: info.memoryLimitMb, env, arn: info.arn, logStream: info.logStream });
      defineProperty(g, 'process', { value: freeze({ env: copyEnv() }), writable: false, configurable: false, enumerable: false });
    },
    /**
     * Runs the request/response paths once, so V8 compiles their lazy functions now (a spare
     * isolate does this before any function is bound to it) instead of in a cold invocation.
     */
    warmup() {
      const request = new RequestCtor('http://localhost/', { method: 'POST', headers: [['content-type', 'text/plain']], body: new U8([104, 105]) });
      request.headers.forEach(() => {});
      const response = new ResponseCtor('hi', { status: 201, headers: { 'x-a': '1' } });
      const done = PromiseAllSettled([request.text(), fromResponse(response, 1024), ResponseCtor.json({ a: 1 }).text(),
        then(PromiseResolve(JSONparse('{"a":[1]}')), (v) => toJson(v, 1024))]);
      return then(done, () => undefined);
    },
    /** Takes the module namespace; answers the handler shape and the handler kinds found. */
    setModule(namespace) {
      // Timers set by top-level code never fire (as on Workers): nothing runs between invocations.
      dropTimers();
      const def = namespace.default;
      const found = [];
      if (def !== null && typeof def === 'object') {
        for (const kind of ['fetch', 'queue', 'scheduled', 'email', 'tail']) if (typeof def[kind] === 'function') found.push(kind);
      }
      if (found.length > 0) {
        shape = 'edge';
      } else if (typeof namespace.handler === 'function') {
        shape = 'lambda';
        found.push('handler');
      } else {
        return { shape: null, exports: keys(namespace) };
      }
      mod = namespace;
      return { shape, exports: found };
    },
    /**
     * Runs one invocation: the handler's synchronous part (the host bounds this call with
     * isolated-vm's timeout), then resolves with its outcome, a plain copyable object. Without
     * ctx.waitUntil() work the invocation is over right here (`settled`), saving the host a
     * settle() call. One host call per invocation: start and wait are fused.
     */
    invoke(data) {
      const current = { requestId: data.requestId, deadline: data.deadline, waitUntil: [] };
      inv = current;
      logOpen = true;
      let pending;
      try {
        pending = PromiseResolve(run(data));
      } catch (err) {
        pending = new PromiseCtor((resolve, reject) => reject(err));
      }
      return then(pending, (value) => finish(current, { ok: true, value }), (err) => finish(current, { ok: false, error: errorInfo(err) }));
    },
    /**
     * Does nothing: the host awaits it to learn that the isolate's current task (an
     * invocation's synchronous part and its microtasks) is over, as isolated-vm runs one task
     * of an isolate at a time.
     */
    barrier() {},
    /** Waits for ctx.waitUntil() promises, then forgets the invocation's timers. */
    settle() {
      const current = inv;
      if (!current) return undefined;
      const done = () => endInvocation(current);
      return then(PromiseAllSettled(current.waitUntil), done, done);
    },
    /** The host timer fired. */
    fire() {
      runDueTimers();
    },
    /** A host call (fetch) finished. */
    complete(id, value) {
      const call = calls.get(id);
      if (!call) return;
      calls.delete(id);
      call.resolve(value);
    },
  };
})
