import { deploy, hitOk } from '../lib/admin.ts';
import { startIslet } from '../lib/child.ts';
import { CPU_WORK } from '../lib/functions.ts';
import { drive } from '../lib/load.ts';
import { ratio, round } from '../lib/stats.ts';
import type { Row, Section } from '../lib/types.ts';

/** 1, 2, 4, 8, … up to n, and n itself. */
export function concurrencyLevels(n: number): number[] {
  const levels: number[] = [];
  for (let c = 1; c < n; c *= 2) levels.push(c);
  levels.push(n);
  return levels;
}

/**
 * Core scaling: a CPU-bound function driven by c concurrent connections (so up to c isolates
 * execute at once) for c = 1, 2, 4 … N (N = cores, at most 16); throughput vs the 1-isolate figure.
 */
export const cpuSection: Section = async (ctx) => {
  const n = Math.min(ctx.cores, 16);
  const durationS = ctx.quick ? 1 : 5;
  const islet = await startIslet({ ISLET_MAX_EXECUTING: String(Math.max(n, 2)) });
  try {
    await deploy(islet.url, 'cpu', { code: CPU_WORK, timeoutMs: 30_000 });
    await hitOk(islet.url, '/fn/cpu/');
    const url = `${islet.url}/fn/cpu/`;
    await drive(url, { connections: n, durationS: 1 });
    const rows: Row[] = [];
    let single = 0;
    const perLevel: Array<{ concurrency: number; requestsPerSecond: number; efficiency: number | null }> = [];
    for (const c of concurrencyLevels(n)) {
      ctx.log(`cpu: ${c} concurrent`);
      const figures = await drive(url, { connections: c, durationS });
      if (figures.failures > 0) throw new Error(`${figures.failures} failed requests at concurrency ${c}`);
      if (c === 1) single = figures.requestsPerSecond;
      const speedup = ratio(figures.requestsPerSecond, single);
      perLevel.push({ concurrency: c, requestsPerSecond: round(figures.requestsPerSecond), efficiency: speedup === null ? null : round(speedup / c) });
      rows.push({ metric: `CPU-heavy fn, ${c} concurrent`, unit: 'req/s', value: round(figures.requestsPerSecond), baseline: round(single), baselineName: '1 concurrent isolate', ratio: speedup });
    }
    return { rows, details: { cores: ctx.cores, maxConcurrency: n, durationS, levels: perLevel } };
  } finally {
    await islet.stop();
  }
};
