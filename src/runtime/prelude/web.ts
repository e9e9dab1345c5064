import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ENTRY_PATH = fileURLToPath(new URL('./web/entry.js', import.meta.url));

let cached: Promise<string> | undefined;

/**
 * An expression (evaluating to a promise) that exercises every lazily loaded part of the
 * web prelude. V8 code cache only holds functions compiled when it is produced, and
 * isolated-vm produces it right after compiling; run this in a scratch isolate after the
 * prelude, then compile the same source again in that isolate, with the same `filename`
 * and `produceCachedData` (V8's per-isolate compilation cache, keyed by source and origin,
 * hands back the warmed script) to get a cache that also covers URL, structuredClone,
 * streams, etc.
 */
export const WEB_PRELUDE_WARMUP_SCRIPT = `(async () => {
  const url = new URL('https://a.example/p/../q?x=1#h');
  url.searchParams.append('y', '2');
  String(url);
  new URLSearchParams('a=1&b=2').toString();
  structuredClone({ m: new Map([[1, new Date(0)]]), s: new Set([1]) });
  btoa(atob('YQ=='));
  new DOMException('warm-up', 'AbortError');
  const controller = new AbortController();
  controller.signal.addEventListener('abort', () => {});
  controller.abort();
  const request = new Request('https://a.example/', { method: 'POST', body: 'x', headers: { 'x-a': '1' } });
  await request.clone().text();
  await request.arrayBuffer();
  const reader = new Response('x').body.getReader();
  while (!(await reader.read()).done);
  const { readable, writable } = new TransformStream();
  const writer = writable.getWriter();
  writer.write(new TextEncoder().encode('x'));
  writer.close();
  await new Response(readable).body.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream());
  const form = new FormData();
  form.append('a', 'b');
  await new Response(form).formData();
  await Response.json({ a: 1 }).json();
})()`;

/**
 * Bundles the Web-standard globals (TextEncoder, URL, Headers, Request, Response, Blob,
 * FormData, AbortController, Event, streams, ...) into one self-contained classic script
 * for a fresh isolate context. Bundled once per process; later calls share the result.
 */
export function buildWebPrelude(): Promise<string> {
  cached ??= bundle().catch((error: unknown) => {
    cached = undefined; // let a later call try again
    throw error;
  });
  return cached;
}

async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY_PATH],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'neutral',
    // core-js-pure and web-streams-polyfill publish CommonJS "main" entries.
    mainFields: ['module', 'main'],
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error('esbuild produced no output for the web prelude');
  return output.text;
}
