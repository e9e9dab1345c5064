// Runtime micro-benchmark: cold start, warm invoke overhead, RSS per idle warm isolate.
// Run: node --no-node-snapshot --expose-gc bench/runtime.ts   (not a test; numbers vary by machine)
import { setTimeout as sleep } from 'node:timers/promises';
import { TestFunctions, httpPayload } from '../src/runtime/testing.ts';

const EDGE = (i: number) => `export default { fetch(request, env) { return new Response('hello ${i}') } }`;
const EDGE_URL = (i: number) => `export default { fetch(request) { return new Response(new URL(request.url).pathname + ' ${i}') } }`;
const LAMBDA = (i: number) => `export async function handler(event) { return { statusCode: 200, body: 'hello ${i}' } }`;

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 100) / 100;
}

async function coldStarts(spares: number, wait: boolean, label: string, code = EDGE): Promise<void> {
  const fns = new TestFunctions({ spareIsolates: spares });
  await fns.runtime.validateCode(code(0)); // builds the prelude and its code cache
  const init: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < 60; i++) {
    await fns.deploy(`f${i}`, code(i));
    if (wait) await sleep(20); // lets the spare refill catch up, as between real deploys/requests
    const started = performance.now();
    const result = await fns.runtime.invoke(`f${i}`, httpPayload(), { trigger: 'http' });
    total.push(performance.now() - started);
    init.push(result.report.initDurationMs ?? 0);
  }
  console.log(`${label}: init p50 ${pct(init, 50)} ms p90 ${pct(init, 90)} ms; cold invoke p50 ${pct(total, 50)} ms p90 ${pct(total, 90)} ms`);
  await fns.close();
}

async function warmOverhead(): Promise<void> {
  const fns = new TestFunctions();
  await fns.deploy('warm', EDGE(0));
  await fns.deploy('warm-l', LAMBDA(0));
  for (const name of ['warm', 'warm-l']) {
    for (let i = 0; i < 200; i++) await fns.runtime.invoke(name, httpPayload(), { trigger: 'http' });
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const started = performance.now();
      await fns.runtime.invoke(name, httpPayload(), { trigger: 'http' });
      times.push(performance.now() - started);
    }
    console.log(`warm invoke (${name === 'warm' ? 'edge' : 'lambda'}): p50 ${pct(times, 50)} ms p99 ${pct(times, 99)} ms`);
  }
  await fns.close();
}

async function throughput(concurrency: number, total: number): Promise<void> {
  const fns = new TestFunctions({ maxConcurrency: concurrency });
  await fns.deploy('tp', EDGE(0));
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      await fns.runtime.invoke('tp', httpPayload(), { trigger: 'http' });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker)); // warms `concurrency` isolates
  next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  console.log(`throughput, ${concurrency} concurrent callers: ${Math.round(total / seconds)} invocations/s (${fns.runtime.stats().warmIsolates} isolates)`);
  await fns.close();
}

async function idleRss(count: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const fns = new TestFunctions();
  await fns.deploy('probe', EDGE(0));
  await fns.runtime.invoke('probe', httpPayload(), { trigger: 'http' });
  gc?.();
  await sleep(100);
  const before = process.memoryUsage().rss;
  for (let i = 0; i < count; i++) {
    await fns.deploy(`idle${i}`, EDGE(i));
    await fns.runtime.invoke(`idle${i}`, httpPayload(), { trigger: 'http' });
  }
  gc?.();
  await sleep(500);
  const after = process.memoryUsage().rss;
  const stats = fns.runtime.stats();
  console.log(`idle warm isolates: ${stats.warmIsolates}, RSS +${((after - before) / 1_048_576).toFixed(1)} MB → ${((after - before) / 1_048_576 / count).toFixed(2)} MB per isolate; V8 heap used per isolate ${(stats.heapUsedBytes / stats.warmIsolates / 1_048_576).toFixed(2)} MB`);
  await fns.close();
}

await coldStarts(0, false, 'cold start, no spare isolates');
await coldStarts(2, true, 'cold start, spare isolate ready');
await coldStarts(2, true, 'cold start (lambda), spare isolate ready', LAMBDA);
await coldStarts(0, false, 'cold start (edge + new URL), no spare isolates', EDGE_URL);
await coldStarts(2, true, 'cold start (edge + new URL), spare isolate ready', EDGE_URL);
await warmOverhead();
await throughput(1, 5000);
await throughput(16, 10000);
await idleRss(100);
