/**
 * Shared by the blueprint tests: start a real islet on port 0 (temp data dir) and deploy a
 * blueprint's islet.json through the CLI's own apply code (bundling with esbuild included).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IsletClient } from '@islet/sdk/client';
import { applyManifest, type ApplyChange } from '../src/cli/apply.ts';
import { loadManifest } from '../src/cli/manifest.ts';
import type { TestNats } from '../test/helpers/nats.ts';
import { startTestServer, type TestServer } from '../test/helpers/server.ts';
export { eventually } from '../test/helpers/eventually.ts';

export const EXAMPLES_DIR = dirname(fileURLToPath(import.meta.url));

export interface DeployedBlueprint {
  server: TestServer;
  client: IsletClient;
  changes: ApplyChange[];
  /** `${server.url}/fn/${name}` */
  fnUrl(name: string): string;
}

/**
 * Starts islet and applies `examples/<blueprint>/islet.json`. With `nats`, islet uses it
 * (NATS_URL) and the nats-server is stopped after islet closes.
 */
export async function deployBlueprint(
  t: { after: (fn: () => Promise<void>) => void },
  blueprint: string,
  options: { env?: Record<string, string>; nats?: TestNats } = {},
): Promise<DeployedBlueprint> {
  const nats = options.nats;
  let server: TestServer;
  try {
    server = await startTestServer(t, { env: { ...options.env, ...(nats ? { NATS_URL: nats.url } : {}) } });
  } catch (err) {
    await nats?.stop();
    throw err;
  }
  // after-hooks run in registration order: islet closes before its nats-server stops.
  if (nats) t.after(() => nats.stop());
  const client = new IsletClient({ url: server.url });
  const changes = await applyManifest(client, await loadManifest(join(EXAMPLES_DIR, blueprint, 'islet.json')));
  return { server, client, changes, fnUrl: (name) => `${server.url}/fn/${name}` };
}


/** The console lines a function logged so far (via the logs API). */
export async function logLines(client: IsletClient, name: string): Promise<string[]> {
  const { items } = await client.logs.query(name);
  return items.filter((r) => r.type === 'line').map((r) => r.message ?? '');
}
