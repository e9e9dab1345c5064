import { readFile } from 'node:fs/promises';
import ivm from 'isolated-vm';
import { WEB_PRELUDE_WARMUP_SCRIPT, buildWebPrelude } from './web.ts';

const BOOTSTRAP_URL = new URL('./bootstrap.js', import.meta.url);
const GUARDS_URL = new URL('./guards.js', import.meta.url);
const PRELUDE_FILENAME = 'islet:prelude.js';
const SCRATCH_TIMEOUT_MS = 10_000;

/**
 * The script every new context runs: the web prelude, the builtin guards (`guards.js`), then
 * the host-bridge bootstrap, whose completion value is the bootstrap function. Built and compiled once per process; every
 * further isolate compiles it from the V8 code cache this process produced itself.
 */
export class Prelude {
  #source: Promise<string> | undefined;
  #cachedData: Promise<ivm.ExternalCopy<ArrayBuffer> | undefined> | undefined;

  /** The combined source text (bundled once). */
  source(): Promise<string> {
    this.#source ??= loadSource();
    return this.#source;
  }

  /** Compiles the prelude in `isolate`, from the code cache once it exists. */
  async compile(isolate: ivm.Isolate): Promise<ivm.Script> {
    const source = await this.source();
    this.#cachedData ??= produceWarmCache(source).catch(() => undefined);
    const cachedData = await this.#cachedData;
    if (cachedData === undefined) return isolate.compileScript(source, { filename: PRELUDE_FILENAME });
    const script = await isolate.compileScript(source, { filename: PRELUDE_FILENAME, cachedData });
    // V8 rejects a cache from another V8 build or flag set; make a fresh one next time.
    if ((script as ivm.Script & { cachedDataRejected?: boolean }).cachedDataRejected === true) this.#cachedData = undefined;
    return script;
  }
}

/**
 * Makes a code cache that also covers the prelude's lazily compiled parts (URL, streams,
 * structuredClone, Request/Response bodies): V8 caches only functions compiled when the cache
 * is made, so a scratch isolate runs the prelude and its warm-up first, then compiles the
 * same source again (same filename: V8 hands back the warmed script) to produce the cache.
 * Costs a few ms once per process; saves several ms on the first `new URL()` of every isolate.
 */
async function produceWarmCache(source: string): Promise<ivm.ExternalCopy<ArrayBuffer> | undefined> {
  const scratch = new ivm.Isolate({ memoryLimit: 128 });
  try {
    const context = await scratch.createContext();
    const script = await scratch.compileScript(source, { filename: PRELUDE_FILENAME });
    await script.run(context, { timeout: SCRATCH_TIMEOUT_MS });
    await context.eval(WEB_PRELUDE_WARMUP_SCRIPT, { promise: true, timeout: SCRATCH_TIMEOUT_MS });
    const warmed = await scratch.compileScript(source, { filename: PRELUDE_FILENAME, produceCachedData: true });
    return (warmed as ivm.Script & ivm.CachedDataResult).cachedData;
  } finally {
    scratch.dispose();
  }
}

async function loadSource(): Promise<string> {
  const [web, guards, bootstrap] = await Promise.all([buildWebPrelude(), readFile(GUARDS_URL, 'utf8'), readFile(BOOTSTRAP_URL, 'utf8')]);
  // The bootstrap must be the script's last expression: its value is what the host receives.
  return `${web}\n;\n${guards}\n;\n${bootstrap.trim().replace(/;$/, '')}\n`;
}
