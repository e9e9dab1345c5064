// Measures the cost of the web prelude per fresh isolate (not a test: numbers vary with the
// machine and its load). Run:
//   node --no-node-snapshot src/runtime/prelude/web/measure.ts [isolates] [cold|warm]
// cold: code cache produced right after compiling (what a plain produceCachedData gives).
// warm: code cache produced after WEB_PRELUDE_WARMUP_SCRIPT ran, so it covers the lazy parts.
import ivm from 'isolated-vm';
import { buildWebPrelude, WEB_PRELUDE_WARMUP_SCRIPT } from '../web.ts';

const DEFAULT_ISOLATE_COUNT = 50;
const MEMORY_LIMIT_MB = 128;
const LAZY_PARTS = {
  url: 'new URL("https://a.example/?q=1").searchParams.get("q")',
  request: 'new Request("https://a.example/x", { method: "POST", body: "x" })',
  structuredClone: 'structuredClone({ a: new Map() })',
  bodyStream: 'new Response("x").body.getReader()',
  all: 'new URL("https://a.example/"); structuredClone({}); atob("YQ=="); new Response("x").body',
} as const;

type Compiled = ivm.Script & ivm.CachedDataResult & { cachedDataRejected?: boolean };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function heapUsed(isolate: ivm.Isolate): Promise<number> {
  return (await isolate.getHeapStatistics()).used_heap_size;
}

async function produceCache(code: string, warm: boolean): Promise<ivm.ExternalCopy<ArrayBuffer>> {
  const isolate = new ivm.Isolate({ memoryLimit: MEMORY_LIMIT_MB });
  try {
    if (warm) {
      const context = await isolate.createContext();
      await (await isolate.compileScript(code)).run(context);
      await context.eval(WEB_PRELUDE_WARMUP_SCRIPT, { promise: true });
    }
    const script = (await isolate.compileScript(code, { produceCachedData: true })) as Compiled;
    if (script.cachedData === undefined) throw new Error('V8 produced no code cache for the prelude');
    return script.cachedData;
  } finally {
    isolate.dispose();
  }
}

async function fresh(code: string, cachedData: ivm.ExternalCopy<ArrayBuffer>) {
  const isolate = new ivm.Isolate({ memoryLimit: MEMORY_LIMIT_MB });
  const context = await isolate.createContext();
  const heapBefore = await heapUsed(isolate);
  const start = performance.now();
  const script = (await isolate.compileScript(code, { cachedData })) as Compiled;
  if (script.cachedDataRejected === true) throw new Error('V8 rejected the code cache');
  await script.run(context);
  const runMs = performance.now() - start;
  const heapAdded = (await heapUsed(isolate)) - heapBefore;
  return { isolate, context, runMs, heapBefore, heapAdded };
}

const count = Number(process.argv[2] ?? DEFAULT_ISOLATE_COUNT);
const warm = process.argv[3] === 'warm';
const buildStart = performance.now();
const code = await buildWebPrelude();
const buildMs = performance.now() - buildStart;
const cachedData = await produceCache(code, warm);

const runMs: number[] = [];
const heapAdded: number[] = [];
const heapBase: number[] = [];
for (let i = 0; i < count; i++) {
  const run = await fresh(code, cachedData);
  runMs.push(run.runMs);
  heapAdded.push(run.heapAdded);
  heapBase.push(run.heapBefore);
  run.isolate.dispose();
}

const lazy: Record<string, string> = {};
for (const [name, expression] of Object.entries(LAZY_PARTS)) {
  const times: number[] = [];
  const heaps: number[] = [];
  for (let i = 0; i < Math.min(count, 20); i++) {
    const run = await fresh(code, cachedData);
    const before = await heapUsed(run.isolate);
    const start = performance.now();
    await run.context.eval(expression);
    times.push(performance.now() - start);
    heaps.push((await heapUsed(run.isolate)) - before);
    run.isolate.dispose();
  }
  lazy[name] = `${median(times).toFixed(2)} ms, +${(median(heaps) / 1024).toFixed(0)} KiB`;
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
process.stdout.write(`${JSON.stringify({
  cache: warm ? 'warm' : 'cold',
  bundle: kib(code.length),
  codeCache: kib(cachedData.copy().byteLength),
  buildMs: Math.round(buildMs),
  isolates: count,
  preludeRunMedianMs: Number(median(runMs).toFixed(3)),
  preludeHeapMedian: kib(median(heapAdded)),
  emptyContextHeapMedian: kib(median(heapBase)),
  firstUseOfLazyParts: lazy,
}, null, 2)}\n`);
