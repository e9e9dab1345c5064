import { basename, dirname, extname, resolve } from 'node:path';
import { FUNCTION_NAME_PATTERN } from '../../defaults.ts';
import { applyManifest, deployIfChanged, describeChange, desiredSettings, triggerUrl } from '../apply.ts';
import { envPairs, intFlag, parseCommand, readEnvFile, type CliEnv } from '../args.ts';
import { bundleFunction } from '../bundle.ts';
import { UsageError } from '../errors.ts';
import { findManifest, isManifestPath, loadManifest } from '../manifest.ts';

export const DEPLOY_HELP = `islet deploy [entry | manifest] [options]

Bundles a TS/JS entry (and its npm dependencies) into one ES module and uploads it,
or applies an islet.json / islet.yaml manifest (only what changed is sent).
With no argument, uses ./islet.json or ./islet.yaml.

Options:
  --name NAME        function name (default: the entry's file name, or its folder for index.*)
  --memory MB        isolate heap limit (default 128)
  --timeout MS       wall-clock limit per invocation (default 3000)
  --env K=V          environment variable (repeatable)
  --env-file FILE    dotenv file of variables (--env wins)
  --force            upload even when code and settings are unchanged`;

const OPTIONS = {
  name: { type: 'string' },
  memory: { type: 'string' },
  timeout: { type: 'string' },
  env: { type: 'string', multiple: true },
  'env-file': { type: 'string' },
  force: { type: 'boolean' },
} as const;

/** `islet deploy`. */
export async function deployCommand(args: string[], cliEnv: CliEnv): Promise<number> {
  const { values, positionals, out, client } = parseCommand(args, OPTIONS, cliEnv, { max: 1 });
  if (values.help) return out.line(DEPLOY_HELP), 0;

  const target = positionals[0] ?? await findManifest(cliEnv.cwd);
  if (target === undefined) throw new UsageError('give an entry file or a manifest (no islet.json or islet.yaml here)');

  if (isManifestPath(target)) {
    if (values.name || values.memory || values.timeout || values.env || values['env-file']) {
      throw new UsageError('--name, --memory, --timeout, --env and --env-file apply to an entry; set them in the manifest');
    }
    const loaded = await loadManifest(target, cliEnv.cwd);
    const changes = await applyManifest(client(), loaded, (text) => out.progress(text));
    out.result({ changes }, () => changes.map(describeChange).join('\n'));
    return 0;
  }

  const name = values.name ?? functionNameFor(target);
  if (!FUNCTION_NAME_PATTERN.test(name)) throw new UsageError(`invalid function name ${JSON.stringify(name)}: use --name with A-Z a-z 0-9 _ - (1-64)`);
  const env = { ...(values['env-file'] ? await readEnvFile(resolve(cliEnv.cwd, values['env-file'])) : {}), ...envPairs(values.env) };
  const settings = desiredSettings({
    memoryMb: intFlag('memory', values.memory, 1),
    timeoutMs: intFlag('timeout', values.timeout, 1),
    env,
  });

  out.progress(`bundling ${target}`);
  const bundle = await bundleFunction(target, { cwd: cliEnv.cwd });
  for (const warning of bundle.warnings) out.error(`warning: ${warning}`);
  out.progress(`uploading ${name} (${formatBytes(Buffer.byteLength(bundle.code))})`);
  const islet = client();
  let change;
  if (values.force) {
    const { created } = await islet.deploy(name, { code: bundle.code, ...settings });
    change = { kind: 'function' as const, name, action: created ? 'created' as const : 'updated' as const };
  } else {
    change = await deployIfChanged(islet, name, bundle, settings);
  }
  const url = triggerUrl(islet.url, name);
  out.result({ ...change, url, codeSha256: bundle.sha256 }, () => `${change.action} ${name}\n${url}`);
  return 0;
}

/** `src/hello.ts` → `hello`; `hello/index.ts` → `hello`. */
export function functionNameFor(entry: string): string {
  const base = basename(entry, extname(entry));
  const name = base === 'index' || base === 'main' || base === 'worker' ? basename(dirname(resolve(entry))) : base;
  return name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
}

function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
