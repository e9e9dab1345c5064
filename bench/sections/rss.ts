import { deploy, hitOk } from '../lib/admin.ts';
import { startIslet } from '../lib/child.ts';
import { edgeHello } from '../lib/functions.ts';
import { inParallel, ratio, round } from '../lib/stats.ts';
import type { Section } from '../lib/types.ts';

const MIB = 1024 * 1024;

/**
 * Memory: RSS of islet (after a full GC) with N idle warm isolates of N distinct functions,
 * minus RSS with one warm function, per isolate; against the RSS of the empty server.
 */
export const rssSection: Section = async (ctx) => {
  const count = ctx.quick ? 20 : 1_000;
  const islet = await startIslet({ ISLET_MAX_WARM_ISOLATES: String(count + 100), ISLET_IDLE_TTL_MS: String(3_600_000) });
  try {
    const empty = await islet.stats();
    await deploy(islet.url, 'probe', { code: edgeHello(-1) });
    await hitOk(islet.url, '/fn/probe/');
    const before = await islet.stats();
    ctx.log(`rss: deploying and warming ${count} functions`);
    await inParallel(count, 4, async (i) => {
      await deploy(islet.url, `idle-${i}`, { code: edgeHello(i) });
      await hitOk(islet.url, `/fn/idle-${i}/`);
    });
    const after = await islet.stats();
    const warm = (after.warmIsolates ?? 0) - (before.warmIsolates ?? 0);
    if (warm <= 0) throw new Error(`no warm isolates were kept (warm ${after.warmIsolates})`);
    const perIsolateMiB = (after.rss - before.rss) / warm / MIB;
    const emptyMiB = empty.rss / MIB;
    return {
      rows: [{
        metric: `RSS per idle warm isolate (${warm} isolates)`, unit: 'MiB', value: round(perIsolateMiB),
        baseline: round(emptyMiB), baselineName: 'RSS of the empty server', ratio: ratio(perIsolateMiB, emptyMiB),
        ...(warm < count ? { note: `only ${warm} of ${count} isolates stayed warm` } : {}),
      }],
      details: {
        functions: count, warmIsolates: warm, gcBeforeMeasuring: after.gc === true,
        emptyRssMiB: round(emptyMiB), oneFunctionRssMiB: round(before.rss / MIB), afterRssMiB: round(after.rss / MIB),
      },
    };
  } finally {
    await islet.stop();
  }
};
