import { deploy, hitOk } from '../lib/admin.ts';
import { startHonoHello, startIslet, type ChildServer } from '../lib/child.ts';
import { EDGE_HELLO } from '../lib/functions.ts';
import { drive } from '../lib/load.ts';
import { ratio, round } from '../lib/stats.ts';
import type { Section } from '../lib/types.ts';

/**
 * Warm HTTP: islet serving an admin-deployed, warmed edge hello vs a bare Hono hello world,
 * each in its own child process; autocannon runs here.
 */
export const warmSection: Section = async (ctx) => {
  const connections = ctx.quick ? 10 : 50;
  const durationS = ctx.quick ? 2 : 10;
  const children: ChildServer[] = [];
  try {
    const hono = await startHonoHello();
    children.push(hono);
    const islet = await startIslet();
    children.push(islet);
    await deploy(islet.url, 'hello', { code: EDGE_HELLO });
    const isletUrl = `${islet.url}/fn/hello/`;
    if (await hitOk(isletUrl, '') !== 'hello') throw new Error('islet hello answered something else');

    // Warm up both (JIT, isolate pool growth to `connections`), then measure.
    ctx.log(`warm: warming up (${connections} connections)`);
    await drive(`${hono.url}/`, { connections, durationS: 1 });
    await drive(isletUrl, { connections, durationS: ctx.quick ? 1 : 3 });
    ctx.log(`warm: Hono baseline ${durationS}s`);
    const base = await drive(`${hono.url}/`, { connections, durationS });
    ctx.log(`warm: islet ${durationS}s`);
    const fn = await drive(isletUrl, { connections, durationS });
    if (fn.requests === 0 || fn.failures > fn.requests * 0.01) throw new Error(`islet answered ${fn.failures} of ${fn.requests} requests with errors`);

    const baselineName = 'bare Hono hello (@hono/node-server)';
    return {
      rows: [
        { metric: 'warm HTTP throughput', unit: 'req/s', value: round(fn.requestsPerSecond), baseline: round(base.requestsPerSecond), baselineName, ratio: ratio(fn.requestsPerSecond, base.requestsPerSecond) },
        { metric: 'warm HTTP latency p50', unit: 'ms', value: round(fn.p50Ms), baseline: round(base.p50Ms), baselineName, ratio: ratio(fn.p50Ms, base.p50Ms) },
        { metric: 'warm HTTP latency p99', unit: 'ms', value: round(fn.p99Ms), baseline: round(base.p99Ms), baselineName, ratio: ratio(fn.p99Ms, base.p99Ms) },
      ],
      details: { connections, durationS, islet: fn, baseline: base },
    };
  } finally {
    for (const c of children) await c.stop();
  }
};
