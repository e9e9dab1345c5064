import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ivm from 'isolated-vm';
import { buildWebPrelude, WEB_PRELUDE_WARMUP_SCRIPT } from './web.ts';

const MEMORY_LIMIT_MB = 128;

/** A fresh isolate with only the web prelude installed. */
async function preludeContext(): Promise<{ run: (body: string) => Promise<unknown>; dispose: () => void }> {
  const isolate = new ivm.Isolate({ memoryLimit: MEMORY_LIMIT_MB });
  const context = await isolate.createContext();
  await context.eval(await buildWebPrelude());
  return {
    // `body` is an async function body; its return value comes back through JSON.
    run: async (body) => {
      const json = await context.eval(`(async () => { ${body} })().then((v) => JSON.stringify(v))`, { promise: true, copy: true });
      return json === undefined ? undefined : JSON.parse(json as string);
    },
    dispose: () => isolate.dispose(),
  };
}

describe('web prelude', () => {
  let run: (body: string) => Promise<unknown>;
  let dispose: () => void;
  before(async () => {
    ({ run, dispose } = await preludeContext());
  });
  after(() => dispose());

  it('bundles one self-contained classic script, built once per process', async () => {
    const code = await buildWebPrelude();
    assert.equal(await buildWebPrelude(), code);
    assert.doesNotMatch(code, /^\s*(import|export)\s/m);
  });

  it('installs every global non-enumerably and leaks nothing from the host', async () => {
    const result = await run(`
      const names = ['TextEncoder','TextDecoder','URL','URLSearchParams','Headers','Request','Response','Blob','File',
        'FormData','AbortController','AbortSignal','Event','EventTarget','DOMException','atob','btoa','structuredClone',
        'ReadableStream','WritableStream','TransformStream','TextEncoderStream','TextDecoderStream','self'];
      return {
        types: names.map((n) => typeof globalThis[n]),
        enumerable: Object.keys(globalThis),
        host: [typeof process, typeof require, typeof window, typeof XMLHttpRequest, typeof module, typeof global],
        self: self === globalThis,
      };`);
    assert.deepEqual(result, {
      types: [...Array(23).fill('function'), 'object'],
      enumerable: [],
      host: ['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined'],
      self: true,
    });
  });

  it('round-trips non-ASCII text through TextEncoder and TextDecoder', async () => {
    const result = await run(`
      const text = 'héllo €𝄞 日本';
      const bytes = new TextEncoder().encode(text);
      const d = new TextDecoder();
      const streamed = [];
      for (let cut = 0; cut <= bytes.length; cut++) {
        const piece = d.decode(bytes.subarray(0, cut), { stream: true }) + d.decode(bytes.subarray(cut));
        if (!streamed.includes(piece)) streamed.push(piece);
      }
      let fatal = null;
      try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])); } catch (e) { fatal = e.name; }
      return {
        length: bytes.length, back: new TextDecoder().decode(bytes), streamed,
        replaced: new TextDecoder().decode(new Uint8Array([0x61, 0xff, 0x62])),
        surrogate: new TextDecoder().decode(new Uint8Array([0xed, 0xa0, 0x80, 0x61, 0xf0, 0x9f, 0x98])),
        loneSurrogate: [...new TextEncoder().encode('a\uD800')],
        big: new TextDecoder().decode(new TextEncoder().encode('é'.repeat(50000))).length,
        bom: new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])),
        keptBom: new TextDecoder('utf8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])).length,
        fatal,
        into: new TextEncoder().encodeInto('é!', new Uint8Array(2)),
      };`);
    assert.deepEqual(result, {
      length: 21, back: 'héllo €𝄞 日本', streamed: ['héllo €𝄞 日本'], replaced: 'a\uFFFDb',
      surrogate: '\uFFFD\uFFFD\uFFFDa\uFFFD', loneSurrogate: [0x61, 0xef, 0xbf, 0xbd], big: 50000, bom: 'a', keptBom: 2,
      fatal: 'TypeError', into: { read: 1, written: 2 },
    });
  });

  it('parses URLs, resolves relative ones and exposes searchParams', async () => {
    const result = await run(`
      const u = new URL('../b/c?x=1&y=a%20b#frag', 'https://Example.COM:443/a/z/');
      u.searchParams.append('z', 'ü');
      let invalid = null;
      try { new URL('/relative'); } catch (e) { invalid = e.name; }
      return { href: u.href, host: u.host, path: u.pathname, y: u.searchParams.get('y'), hash: u.hash, invalid,
        params: [...new URLSearchParams({ a: '1', b: 'x y' })].join('|'), canParse: URL.canParse('nope') };`);
    assert.deepEqual(result, {
      href: 'https://example.com/a/b/c?x=1&y=a+b&z=%C3%BC#frag', host: 'example.com', path: '/a/b/c', y: 'a b',
      hash: '#frag', invalid: 'TypeError', params: 'a,1|b,x y', canParse: false,
    });
  });

  it('gives Request.url the same serialization as URL for every shape of URL', async () => {
    const result = await run(`
      const inputs = ['https://a.example/x?y=1', 'http://a.example:80/', 'https://a.example:443/p', 'http://a.example:8080/p/./q',
        'https://a.example/a/../b', 'https://a.example/%2e/x', 'http://127.1/', 'http://0x7f.0.0.1/', 'http://127.0.0.1:8080/p?x=1', 'http://10.0.0.255/', 'http://1.2.3.04/', 'https://A.example/',
        'https://a.example', 'https://a.example/p q', "https://a.example/?q='x'", 'https://a.example/#frag', 'https://u:p@a.example/',
        'https://a.example:0080/', 'https://xn--nxasmq6b.example/', 'https://a.example/p?%zz&a=b', 'https://a.example./'];
      return inputs.filter((input) => new Request(input).url !== new URL(input).href);`);
    assert.deepEqual(result, []);
  });

  it('treats header names case-insensitively and keeps Set-Cookie values apart', async () => {
    const result = await run(`
      const h = new Headers({ 'Content-Type': 'text/plain' });
      h.append('X-A', '1'); h.append('x-a', '2');
      h.append('Set-Cookie', 'a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT'); h.append('set-cookie', 'b=2');
      let invalid = null;
      try { h.append('bad name', 'x'); } catch (e) { invalid = e.name; }
      h.delete('CONTENT-TYPE');
      return { xa: h.get('X-a'), has: h.has('content-type'), cookies: h.getSetCookie(), entries: [...h], invalid };`);
    assert.deepEqual(result, {
      xa: '1, 2', has: false, cookies: ['a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT', 'b=2'],
      entries: [['set-cookie', 'a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT'], ['set-cookie', 'b=2'], ['x-a', '1, 2']],
      invalid: 'TypeError',
    });
  });

  it('reads string and Uint8Array bodies once and clones them', async () => {
    const result = await run(`
      const req = new Request('https://x.test/p?q=1', { method: 'post', body: 'hi ü', headers: { 'X-Id': '7' } });
      const copy = req.clone();
      const text = await req.text();
      let second = null;
      try { await req.text(); } catch (e) { second = e.name; }
      const res = new Response(new Uint8Array([1, 2, 3]), { status: 201, statusText: 'Created' });
      const bytes = [...new Uint8Array(await res.clone().arrayBuffer())];
      const json = await new Response('{"a":[1]}').json();
      return { method: req.method, type: req.headers.get('content-type'), text, used: req.bodyUsed, second,
        cloned: await copy.text(), cloneId: copy.headers.get('x-id'), bytes, resType: res.headers.get('content-type'),
        status: [res.status, res.statusText, res.ok], rest: [...(await res.bytes())], json };`);
    assert.deepEqual(result, {
      method: 'POST', type: 'text/plain;charset=UTF-8', text: 'hi ü', used: true, second: 'TypeError', cloned: 'hi ü',
      cloneId: '7', bytes: [1, 2, 3], resType: null, status: [201, 'Created', true], rest: [1, 2, 3], json: { a: [1] },
    });
  });

  it('rejects invalid Request and Response constructions', async () => {
    const result = await run(`
      const errors = [];
      for (const f of [
        () => new Request('https://x.test/', { body: 'x' }),
        () => new Request('/relative'),
        () => new Request('https://x.test/', { method: 'CONNECT' }),
        () => new Response('x', { status: 204 }),
        () => new Response(null, { status: 99 }),
        () => Response.redirect('https://x.test/', 200),
      ]) { try { f(); errors.push('none'); } catch (e) { errors.push(e.name); } }
      return errors;`);
    assert.deepEqual(result, ['TypeError', 'TypeError', 'TypeError', 'TypeError', 'RangeError', 'RangeError']);
  });

  it('encodes URLSearchParams and FormData bodies and parses them back', async () => {
    const result = await run(`
      const url = new Request('https://x.test/', { method: 'POST', body: new URLSearchParams({ a: '1', b: 'ü &' }) });
      const urlType = url.headers.get('content-type');
      const urlForm = await url.formData();
      const fd = new FormData();
      fd.append('name', 'value\\nline');
      fd.append('file', new Blob(['file body'], { type: 'text/plain' }), 'a "b".txt');
      const res = new Response(fd);
      const type = res.headers.get('content-type');
      const raw = await res.clone().text();
      const parsed = await res.formData();
      const file = parsed.get('file');
      let notForm = null;
      try { await new Response('x').formData(); } catch (e) { notForm = e.name; }
      return { urlType, urlEntries: [...urlForm], multipart: /^multipart\\/form-data; boundary=/.test(type),
        crlf: raw.includes('value\\r\\nline'), name: parsed.get('name'), fileName: file.name, fileType: file.type,
        fileText: await file.text(), isFile: file instanceof File, notForm };`);
    assert.deepEqual(result, {
      urlType: 'application/x-www-form-urlencoded;charset=UTF-8', urlEntries: [['a', '1'], ['b', 'ü &']], multipart: true,
      crlf: true, name: 'value\r\nline', fileName: 'a %22b%22.txt', fileType: 'text/plain', fileText: 'file body', isFile: true,
      notForm: 'TypeError',
    });
  });

  it('builds Response.json, Response.redirect and Response.error', async () => {
    const result = await run(`
      const j = Response.json({ ok: true }, { status: 202, headers: { 'X-A': 'b' } });
      const r = Response.redirect('https://x.test/next', 307);
      let frozen = null;
      try { r.headers.set('x', 'y'); } catch (e) { frozen = e.name; }
      const e = Response.error();
      return { j: [j.status, j.headers.get('content-type'), j.headers.get('x-a'), await j.json()],
        r: [r.status, r.headers.get('location')], frozen, e: [e.status, e.type, e.ok] };`);
    assert.deepEqual(result, {
      j: [202, 'application/json', 'b', { ok: true }], r: [307, 'https://x.test/next'], frozen: 'TypeError',
      e: [0, 'error', false],
    });
  });

  it('exposes bodies as ReadableStreams and accepts streams as bodies', async () => {
    const result = await run(`
      const res = new Response('streamed');
      const reader = res.body.getReader();
      const first = await reader.read();
      const chunks = [new TextEncoder().encode('a'), new TextEncoder().encode('b')];
      const stream = new ReadableStream({ pull(c) { const next = chunks.shift(); if (next) c.enqueue(next); else c.close(); } });
      const fromStream = new Response(stream);
      const { readable, writable } = new TransformStream();
      const w = writable.getWriter(); w.write(new TextEncoder().encode('t')); w.close();
      const encoded = new ReadableStream({ start(c) { c.enqueue('h\uD834'); c.enqueue('\uDD1E €'); c.close(); } })
        .pipeThrough(new TextEncoderStream()).pipeThrough(new TextDecoderStream());
      let decoded = '';
      for await (const piece of encoded) decoded += piece;
      const locked = new Response('x');
      locked.body.getReader();
      let lockedRead = null;
      try { await locked.text(); } catch (e) { lockedRead = e.name; }
      const consumed = new Response('x');
      await consumed.text();
      return { decoded, locked: [locked.bodyUsed, lockedRead], consumed: [consumed.bodyUsed, consumed.body.locked],
        first: new TextDecoder().decode(first.value), used: res.bodyUsed, nullBody: new Response(null).body,
        streamed: await fromStream.clone().text(), original: await fromStream.text(),
        transformed: await new Response(readable).text() };`);
    assert.deepEqual(result, { decoded: 'h𝄞 €', locked: [false, 'TypeError'], consumed: [true, false], first: 'streamed', used: true, nullBody: null, streamed: 'ab', original: 'ab', transformed: 't' });
  });

  it('fires abort events with an AbortError reason', async () => {
    const result = await run(`
      const c = new AbortController();
      const seen = [];
      c.signal.addEventListener('abort', (e) => seen.push(e.type));
      c.signal.onabort = () => seen.push('onabort');
      c.abort();
      c.abort();
      let thrown = null;
      try { c.signal.throwIfAborted(); } catch (e) { thrown = e.name; }
      const custom = AbortSignal.abort('why');
      const any = AbortSignal.any([new AbortController().signal, custom]);
      const target = new EventTarget();
      let got = null;
      target.addEventListener('ping', (e) => { got = e.type; });
      target.dispatchEvent(new Event('ping'));
      return { seen, aborted: c.signal.aborted, reason: c.signal.reason.name, isDom: c.signal.reason instanceof DOMException,
        thrown, custom: custom.reason, any: [any.aborted, any.reason], got };`);
    assert.deepEqual(result, {
      seen: ['abort', 'onabort'], aborted: true, reason: 'AbortError', isDom: true, thrown: 'AbortError', custom: 'why',
      any: [true, 'why'], got: 'ping',
    });
  });

  it('structuredClones Maps, Dates and cycles, and rejects functions', async () => {
    const result = await run(`
      const o = { m: new Map([['k', new Date(5)]]), s: new Set([1]), u: new Uint8Array([9]) };
      o.self = o;
      const c = structuredClone(o);
      let fn = null;
      try { structuredClone({ f() {} }); } catch (e) { fn = e.name; }
      return { cycle: c.self === c, distinct: c !== o && c.m !== o.m, date: c.m.get('k') instanceof Date && c.m.get('k').getTime(),
        set: c.s.has(1), u: c.u[0], fn };`);
    assert.deepEqual(result, { cycle: true, distinct: true, date: 5, set: true, u: 9, fn: 'DataCloneError' });
  });

  it('encodes base64 with btoa/atob and rejects invalid input', async () => {
    const result = await run(`
      const errors = [];
      try { atob('a*b'); } catch (e) { errors.push(e.name); }
      try { btoa('€'); } catch (e) { errors.push(e.name); }
      return { b: btoa('hello\\u00ff'), a: atob(' aGVs bG8= '), errors };`);
    assert.deepEqual(result, { b: 'aGVsbG//', a: 'hello', errors: ['InvalidCharacterError', 'InvalidCharacterError'] });
  });

  it('reads Blob text, bytes and slices', async () => {
    const result = await run(`
      const blob = new Blob(['héllo', new Uint8Array([33]), new Blob([' w'])], { type: 'Text/Plain' });
      const part = blob.slice(1, -2, 'x/y');
      const file = new File(['abc'], 'a.txt', { lastModified: 42 });
      return { size: blob.size, type: blob.type, text: await blob.text(), slice: await part.text(), sliceType: part.type,
        bytes: [...new Uint8Array(await blob.slice(-2).arrayBuffer())], file: [file.name, file.lastModified, file.size],
        streamed: await new Response(blob.stream()).text(), bodyType: new Response(blob).headers.get('content-type'),
        shared: await (async () => {
          const source = blob.slice(0, 3);
          const response = new Response(source);
          const copy = response.clone();
          await response.body.getReader().read();
          return [await source.text(), await copy.text(), await blob.text()];
        })() };`);
    assert.deepEqual(result, {
      size: 9, type: 'text/plain', text: 'héllo! w', slice: 'éllo!', sliceType: 'x/y', bytes: [32, 119],
      file: ['a.txt', 42, 3], streamed: 'héllo! w', bodyType: 'text/plain', shared: ['hé', 'hé', 'héllo! w'],
    });
  });

  it('warms up every lazy part so that a code cache made afterwards covers them', async () => {
    const code = await buildWebPrelude();
    const cacheSize = async (warm: boolean): Promise<number> => {
      const isolate = new ivm.Isolate({ memoryLimit: MEMORY_LIMIT_MB });
      try {
        if (warm) {
          const context = await isolate.createContext();
          await (await isolate.compileScript(code, { filename: 'prelude.js' })).run(context);
          await context.eval(WEB_PRELUDE_WARMUP_SCRIPT, { promise: true });
        }
        const script = (await isolate.compileScript(code, { filename: 'prelude.js', produceCachedData: true })) as ivm.Script & ivm.CachedDataResult;
        return script.cachedData?.copy().byteLength ?? 0;
      } finally {
        isolate.dispose();
      }
    };
    const cold = await cacheSize(false);
    const warm = await cacheSize(true);
    assert.ok(cold > 0);
    assert.ok(warm > cold * 2, `warm cache ${warm} B should hold far more than the cold ${cold} B`);
  });
});
