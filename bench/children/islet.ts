// islet for the bench, in its own process: startServer with the settings from the environment
// (PORT 0, loopback, silent logs). Sends {url} over IPC once listening and answers {type:'stats'}
// with RSS after a full GC (node --expose-gc) and the runtime's warm isolate count.
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { startServer } from '../../src/server.ts';

const server = await startServer(loadConfig(process.env, { PORT: 0, HOST: '127.0.0.1' }), { logger: silentLogger(), shutdownGraceMs: 1_000 });
process.send?.({ type: 'ready', url: server.url });

const gc = (globalThis as { gc?: () => void }).gc;
process.on('message', async (msg: { type?: string }) => {
  if (msg.type !== 'stats') return;
  gc?.();
  await new Promise((r) => setTimeout(r, 200));
  gc?.();
  const stats = server.runtime.stats();
  process.send?.({ type: 'stats', rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, warmIsolates: stats.warmIsolates, gc: gc !== undefined });
});
const stop = async () => { await server.close(); process.exit(0); };
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
