import { deploy, hitOk, initDurationMs } from '../lib/admin.ts';
import { startIslet } from '../lib/child.ts';
import { edgeHello } from '../lib/functions.ts';
import { percentile, ratio, round } from '../lib/stats.ts';
import type { Row, Section } from '../lib/types.ts';

/**
 * Cold start: deploy N distinct functions one by one and time each first request (client side,
 * plus initDurationMs from the REPORT record), against the second, warm request to the same function.
 */
export const coldSection: Section = async (ctx) => {
  const count = ctx.quick ? 10 : 100;
  const islet = await startIslet({ ISLET_MAX_WARM_ISOLATES: String(count + 50) });
  try {
    // The first isolate of the process builds the prelude's code cache: not a per-function cost.
    await deploy(islet.url, 'probe', { code: edgeHello(-1) });
    await hitOk(islet.url, '/fn/probe/');
    const cold: number[] = [];
    const warm: number[] = [];
    ctx.log(`cold: ${count} functions`);
    for (let i = 0; i < count; i++) {
      const name = `cold-${i}`;
      await deploy(islet.url, name, { code: edgeHello(i) });
      let started = performance.now();
      const body = await hitOk(islet.url, `/fn/${name}/`);
      cold.push(performance.now() - started);
      if (body !== `hello ${i}`) throw new Error(`${name} answered ${JSON.stringify(body)}`);
      started = performance.now();
      await hitOk(islet.url, `/fn/${name}/`);
      warm.push(performance.now() - started);
    }
    const init: number[] = [];
    for (let i = 0; i < count; i++) {
      const value = await initDurationMs(islet.url, `cold-${i}`);
      if (value !== undefined) init.push(value);
    }

    const baselineName = 'warm request (same function, next request)';
    const row = (metric: string, values: number[], p: number): Row => {
      const value = percentile(values, p);
      const base = percentile(warm, p);
      return { metric, unit: 'ms', value: round(value), baseline: round(base), baselineName, ratio: ratio(value, base) };
    };
    const rows = [row('cold start p50 (client)', cold, 50), row('cold start p99 (client)', cold, 99)];
    if (init.length > 0) rows.push(row('cold init p50 (REPORT initDurationMs)', init, 50), row('cold init p99 (REPORT initDurationMs)', init, 99));
    return {
      rows,
      details: { functions: count, initDurationReported: init.length, coldMs: cold.map(round), warmMs: warm.map(round), initMs: init.map(round) },
    };
  } finally {
    await islet.stop();
  }
};
