import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { startServer, type IsletServer } from '../../src/server.ts';

/** A real islet on 127.0.0.1 and a free port, with helpers for the admin API. */
export interface TestServer {
  server: IsletServer;
  url: string;
  dataDir: string;
  /** PUT /v1/functions/:name with a JSON body. */
  deploy(name: string, body: Record<string, unknown>): Promise<Response>;
  /** PUT and assert 200/201; returns the function info. */
  deployOk(name: string, body: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** POST /v1/functions/:name/invoke with a JSON event. */
  invoke(name: string, event?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** fetch relative to the server URL, adding the admin token for /v1 paths when set. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Closes the server (idempotent); the data dir stays until the test ends. */
  close(): Promise<void>;
}

interface TestContext { after: (fn: () => Promise<void>) => void }

/**
 * Starts islet for one test (LOG_LEVEL silent, no NATS) and registers cleanup with `t.after`.
 * Pass `dataDir` to reuse one (restart tests); it is then left to the caller.
 */
export async function startTestServer(t: TestContext, options: { env?: Record<string, string>; dataDir?: string } = {}): Promise<TestServer> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? await mkdtemp(join(tmpdir(), 'islet-e2e-'));
  const env = {
    PORT: '0', HOST: '127.0.0.1', ISLET_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ISLET_EMBEDDED_NATS: 'off',
    ...options.env,
  };
  const config = loadConfig(env);
  const server = await startServer(config, { logger: silentLogger(), shutdownGraceMs: 2_000 });
  t.after(async () => {
    await server.close();
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
  });
  const token = config.ISLET_ADMIN_TOKEN;
  const doFetch = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (token && path.startsWith('/v1') && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    return fetch(server.url + path, { ...init, headers });
  };
  const deploy = (name: string, body: Record<string, unknown>) => doFetch(`/v1/functions/${name}`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return {
    server,
    url: server.url,
    dataDir,
    deploy,
    async deployOk(name, body) {
      const res = await deploy(name, body);
      const info = await res.json() as Record<string, unknown>;
      if (res.status !== 200 && res.status !== 201) throw new Error(`deploy ${name} answered ${res.status}: ${JSON.stringify(info)}`);
      return info;
    },
    invoke: (name, event, headers = {}) => doFetch(`/v1/functions/${name}/invoke`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: event === undefined ? undefined : JSON.stringify(event),
    }),
    fetch: doFetch,
    close: () => server.close(),
  };
}

/** The `error.code` of an islet error response. */
export async function errorCode(res: Response): Promise<string | undefined> {
  const body = await res.json() as { error?: { code?: string } };
  return body.error?.code;
}
