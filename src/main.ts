/**
 * `npm start`: reads settings from the environment, starts the server, and shuts it down
 * cleanly on SIGINT/SIGTERM. A bad setting prints one line naming it and exits 2.
 */
import { ConfigError, loadConfig, type Config } from './config.ts';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`islet: ${err.message}\n`);
  process.exit(2);
}

// Imported after the config check so a bad setting fails fast, before isolated-vm loads.
const { startServer } = await import('./server.ts');
const server = await startServer(config);
server.log.info({
  url: server.url,
  host: config.HOST,
  port: server.port,
  dataDir: server.store.dir,
  admin: config.ISLET_ADMIN_TOKEN ? 'bearer token' : 'loopback clients only',
  events: server.events.mode,
}, `islet listening on ${server.url}`);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  server.log.info({ signal }, 'shutting down');
  try {
    await server.close();
    process.exit(0);
  } catch (err) {
    server.log.error({ err }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
