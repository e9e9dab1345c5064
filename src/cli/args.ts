import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { DEFAULT_ISLET_URL, IsletClient } from '@islet/sdk/client';
import { UsageError } from './errors.ts';
import { createOutput, type Output } from './output.ts';

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

/** Process-level things a command runs with (tests pass their own). */
export interface CliEnv {
  env: Record<string, string | undefined>;
  cwd: string;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/** A parsed command line for one command. */
export interface Parsed<V> {
  values: V;
  positionals: string[];
  out: Output;
  /** A client for `--url`/`ISLET_URL` and `--token`/`ISLET_ADMIN_TOKEN`. */
  client(): IsletClient;
}

type Values<O extends ParseArgsOptionsConfig> = {
  [K in keyof O]?: O[K] extends { type: 'boolean' } ? (O[K] extends { multiple: true } ? boolean[] : boolean)
    : (O[K] extends { multiple: true } ? string[] : string)
};

/** Parses `args` with the command's options plus the global ones; unknown flags are a UsageError. */
export function parseCommand<O extends ParseArgsOptionsConfig>(
  args: string[], options: O, cliEnv: CliEnv, limits: { min?: number; max?: number } = {},
): Parsed<Values<O & typeof GLOBAL_OPTIONS>> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const values = parsed.values as Values<O & typeof GLOBAL_OPTIONS>;
  const positionals = parsed.positionals;
  if (!values.help) {
    if (limits.min !== undefined && positionals.length < limits.min) throw new UsageError('missing argument');
    if (limits.max !== undefined && positionals.length > limits.max) {
      throw new UsageError(`unexpected argument ${JSON.stringify(positionals[limits.max])}`);
    }
  }
  const out = createOutput({ json: values.json === true, quiet: values.quiet === true, stdout: cliEnv.stdout, stderr: cliEnv.stderr });
  return {
    values,
    positionals,
    out,
    client: () => new IsletClient({
      url: (values.url as string | undefined) ?? cliEnv.env.ISLET_URL ?? DEFAULT_ISLET_URL,
      token: (values.token as string | undefined) ?? cliEnv.env.ISLET_ADMIN_TOKEN,
    }),
  };
}

/** An integer flag value, or a UsageError naming the flag. */
export function intFlag(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses JSON from a flag, or a UsageError naming the flag. */
export function jsonFlag(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--${name} is not valid JSON: ${(err as Error).message}`);
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `K=V` pairs from repeated `--env` flags. */
export function envPairs(pairs: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (eq === -1 || !ENV_NAME.test(key)) throw new UsageError(`--env takes NAME=value, got ${JSON.stringify(pair)}`);
    env[key] = pair.slice(eq + 1);
  }
  return env;
}

/**
 * Reads a dotenv file: `NAME=value` lines, `#` comments, optional `export `, single or double
 * quotes (double quotes understand \n). No variable expansion.
 */
export async function readEnvFile(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read env file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseEnvFile(text, path);
}

/** Parses dotenv text (see {@link readEnvFile}). */
export function parseEnvFile(text: string, path = 'env file'): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new UsageError(`${path}:${index + 1}: expected NAME=value`);
    const [, key, rest = ''] = match;
    let value = rest;
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      value = value.slice(1, -1).replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
      value = value.slice(1, -1);
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    env[key!] = value;
  });
  return env;
}
