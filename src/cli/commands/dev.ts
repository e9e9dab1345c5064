import { watch, type FSWatcher } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { IsletClient } from '@islet/sdk/client';
import { FUNCTION_NAME_PATTERN } from '../../defaults.ts';
import { applyManifest, deployIfChanged, describeChange, desiredSettings, triggerUrl } from '../apply.ts';
import { envPairs, intFlag, parseCommand, readEnvFile, type CliEnv } from '../args.ts';
import { BundleError, bundleFunction } from '../bundle.ts';
import { UsageError } from '../errors.ts';
import { findManifest, isManifestPath, loadManifest } from '../manifest.ts';
import type { Output } from '../output.ts';
import { functionNameFor } from './deploy.ts';
import { formatRecord } from './logs.ts';

export const DEV_HELP = `islet dev [entry | manifest] [options]

Starts a local islet server, deploys the entry (or every function of the manifest),
watches the source files and redeploys on save. Function logs are printed as they come.

Options:
  --port N         port to listen on (default: a free port)
  --data-dir DIR   registry directory (default: ./.islet; --temp for a throwaway one)
  --temp           use a temporary data dir, deleted on exit
  --name, --memory, --timeout, --env K=V, --env-file   as for deploy (entry only)
  --no-watch       deploy once and keep serving without watching`;

const OPTIONS = {
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  temp: { type: 'boolean' },
  name: { type: 'string' },
  memory: { type: 'string' },
  timeout: { type: 'string' },
  env: { type: 'string', multiple: true },
  'env-file': { type: 'string' },
  'no-watch': { type: 'boolean' },
} as const;

/** Files changing within this window are redeployed once. */
const REDEPLOY_DEBOUNCE_MS = 150;

/** `islet dev`: runs until `signal` aborts (SIGINT/SIGTERM in the CLI). */
export async function devCommand(args: string[], cliEnv: CliEnv, signal: AbortSignal): Promise<number> {
  const { values, positionals, out } = parseCommand(args, OPTIONS, cliEnv, { max: 1 });
  if (values.help) return out.line(DEV_HELP), 0;
  const target = positionals[0] ?? await findManifest(cliEnv.cwd);
  if (target === undefined) throw new UsageError('give an entry file or a manifest (no islet.json or islet.yaml here)');
  const port = intFlag('port', values.port, 0) ?? 0;

  const dataDir = values.temp ? await mkdtemp(join(tmpdir(), 'islet-dev-')) : resolve(cliEnv.cwd, values['data-dir'] ?? '.islet');
  // Loaded here so the other commands never load isolated-vm.
  const { loadConfig } = await import('../../config.ts');
  const { startServer } = await import('../../server.ts');
  const config = loadConfig(cliEnv.env, { PORT: port, HOST: '127.0.0.1', ISLET_DATA_DIR: dataDir, LOG_LEVEL: cliEnv.env.LOG_LEVEL ?? 'warn' });
  out.progress(`starting islet (data dir ${dataDir})`);
  const server = await startServer(config, { shutdownGraceMs: 2_000 });
  const client = new IsletClient({ url: server.url, token: config.ISLET_ADMIN_TOKEN });
  const followers = new Map<string, AbortController>();
  let watcher: FSWatcher | undefined;

  try {
    const deployer = await makeDeployer(target, values, cliEnv, client, out);
    let inputs = await deployer.deploy();
    for (const name of deployer.names()) followLogs(client, name, followers, out, signal);
    out.line(`islet dev ready: ${server.url}`);
    for (const name of deployer.names()) out.line(`  ${name}: ${triggerUrl(server.url, name)}`);

    if (!values['no-watch']) {
      const root = isManifestPath(target) ? dirname(resolve(cliEnv.cwd, target)) : cliEnv.cwd;
      let timer: NodeJS.Timeout | undefined;
      let running: Promise<void> = Promise.resolve();
      watcher = watch(root, { recursive: true }, (_event, file) => {
        if (file === null) return;
        const path = resolve(root, file.toString());
        if (/[\\/](node_modules|\.islet|\.git)[\\/]/.test(path) || path.startsWith(dataDir)) return;
        if (inputs.size > 0 && !inputs.has(path) && !isManifestPath(path)) return;
        clearTimeout(timer);
        timer = setTimeout(() => {
          running = running.then(async () => {
            out.progress(`change in ${file.toString()}: redeploying`);
            inputs = await deployer.deploy();
            for (const name of deployer.names()) followLogs(client, name, followers, out, signal);
          });
        }, REDEPLOY_DEBOUNCE_MS);
      });
    }
    await new Promise<void>((resolveStop) => {
      if (signal.aborted) resolveStop();
      signal.addEventListener('abort', () => resolveStop(), { once: true });
    });
  } finally {
    watcher?.close();
    for (const ac of followers.values()) ac.abort();
    await server.close();
    if (values.temp) await rm(dataDir, { recursive: true, force: true });
  }
  return 0;
}

interface Deployer {
  /** Deploys what changed; returns the files that went into the bundles (empty after a failure). */
  deploy(): Promise<Set<string>>;
  names(): string[];
}

async function makeDeployer(target: string, values: Record<string, unknown>, cliEnv: CliEnv, client: IsletClient, out: Output): Promise<Deployer> {
  if (isManifestPath(target)) {
    let names: string[] = [];
    return {
      names: () => names,
      async deploy() {
        try {
          const loaded = await loadManifest(target, cliEnv.cwd);
          names = Object.keys(loaded.manifest.functions);
          const changes = await applyManifest(client, loaded);
          for (const change of changes) if (change.action !== 'unchanged') out.progress(describeChange(change));
          return new Set<string>();
        } catch (err) {
          out.error(errorText(err));
          return new Set<string>();
        }
      },
    };
  }
  const name = (values.name as string | undefined) ?? functionNameFor(target);
  if (!FUNCTION_NAME_PATTERN.test(name)) throw new UsageError(`invalid function name ${JSON.stringify(name)}: use --name`);
  const envFile = values['env-file'] as string | undefined;
  const settings = desiredSettings({
    memoryMb: intFlag('memory', values.memory as string | undefined, 1),
    timeoutMs: intFlag('timeout', values.timeout as string | undefined, 1),
    env: { ...(envFile ? await readEnvFile(resolve(cliEnv.cwd, envFile)) : {}), ...envPairs(values.env as string[] | undefined) },
  });
  let last = new Set<string>();
  return {
    names: () => [name],
    async deploy() {
      try {
        const bundle = await bundleFunction(target, { cwd: cliEnv.cwd });
        const change = await deployIfChanged(client, name, bundle, settings);
        if (change.action !== 'unchanged') out.progress(`${change.action} ${name}`);
        last = new Set(bundle.inputs);
      } catch (err) {
        out.error(errorText(err));
      }
      return last;
    },
  };
}

/** Streams a function's logs to stderr while dev runs; a server without the logs route is ignored. */
function followLogs(client: IsletClient, name: string, followers: Map<string, AbortController>, out: Output, signal: AbortSignal): void {
  if (followers.has(name)) return;
  const ac = new AbortController();
  signal.addEventListener('abort', () => ac.abort(), { once: true });
  followers.set(name, ac);
  void (async () => {
    try {
      for await (const record of client.logs.follow(name, { since: Date.now() }, ac.signal)) out.error(`[${name}] ${formatRecord(record)}`);
    } catch {
      // The logs route may be missing, or the stream ended: dev keeps serving without it.
    }
  })();
}

function errorText(err: unknown): string {
  if (err instanceof BundleError) return err.message;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}
