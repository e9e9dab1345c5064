import { access, readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FUNCTION_NAME_PATTERN, MAX_MEMORY_MB, MAX_TIMEOUT_MS, MIN_MEMORY_MB } from '../defaults.ts';
import { CliError, ExitCodes } from './errors.ts';

/** File names `islet deploy` and `islet dev` look for when given no argument. */
export const MANIFEST_FILES = ['islet.json', 'islet.yaml', 'islet.yml'] as const;

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `nats:<subject>`, `function:<name>` or an http(s) URL; the server checks the details. */
const asyncDestination = z.string().regex(/^(nats:|function:|https?:\/\/)\S+$/, 'use nats:<subject>, function:<name> or an http(s):// URL');

/** Async invocation settings; passed to `PUT /v1/functions/:name/async-config` as written. */
const asyncSchema = z.object({
  maxRetryAttempts: z.number().int().min(0).optional(),
  maxEventAgeSeconds: z.number().int().min(1).optional(),
  retryBackoff: z.object({ baseMs: z.number().int().min(1).optional(), maxMs: z.number().int().min(1).optional() }).strict().optional(),
  onSuccess: asyncDestination.optional(),
  onFailure: asyncDestination.optional(),
}).strict();

/** One event-source mapping of a function (the function is implied). */
const eventSourceSchema = z.object({
  source: z.union([
    z.object({ subject: z.string().min(1) }).strict(),
    z.object({ stream: z.string().min(1), filterSubject: z.string().min(1).optional() }).strict(),
  ]),
}).catchall(z.unknown());

const functionSchema = z.object({
  /** Entry file, relative to the manifest. */
  entry: z.string().min(1),
  memoryMb: z.number().int().min(MIN_MEMORY_MB).max(MAX_MEMORY_MB).optional(),
  timeoutMs: z.number().int().min(1).max(MAX_TIMEOUT_MS).optional(),
  cpuMs: z.number().int().min(1).max(MAX_TIMEOUT_MS).optional(),
  env: z.record(z.string().regex(envName, 'env names match ^[A-Za-z_][A-Za-z0-9_]*$'), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
  reservedConcurrency: z.number().int().min(0).optional(),
  minWarm: z.number().int().min(0).optional(),
  description: z.string().max(256).optional(),
  /** Paths under `/fn/<name>` the function serves; printed as URLs after deploy (informational). */
  routes: z.array(z.string().startsWith('/', 'routes start with /')).optional(),
  async: asyncSchema.optional(),
  /** When given, the function's mappings are made to match this list exactly. */
  eventSources: z.array(eventSourceSchema).optional(),
}).strict();

/** `islet.json` / `islet.yaml`. */
export const ManifestSchema = z.object({
  $schema: z.string().optional(),
  functions: z.record(z.string().regex(FUNCTION_NAME_PATTERN, 'function names match ^[A-Za-z0-9_-]{1,64}$'), functionSchema)
    .refine((fns) => Object.keys(fns).length > 0, 'declare at least one function'),
}).strict();

export type Manifest = z.output<typeof ManifestSchema>;
export type ManifestFunction = z.output<typeof functionSchema>;
export type ManifestEventSource = z.output<typeof eventSourceSchema>;

/** A loaded manifest with its directory (entries resolve against it). */
export interface LoadedManifest {
  path: string;
  dir: string;
  manifest: Manifest;
}

/** True when `path` names a manifest by its extension or name. */
export function isManifestPath(path: string): boolean {
  const ext = extname(path).toLowerCase();
  return ext === '.json' || ext === '.yaml' || ext === '.yml';
}

/** The manifest in `dir`, if there is one. */
export async function findManifest(dir: string): Promise<string | undefined> {
  for (const name of MANIFEST_FILES) {
    const path = join(dir, name);
    try {
      await access(path);
      return path;
    } catch {
      // try the next name
    }
  }
  return undefined;
}

/** Reads and validates a manifest; a problem is a CliError (usage) naming the file and field. */
export async function loadManifest(path: string, cwd = process.cwd()): Promise<LoadedManifest> {
  const full = resolve(cwd, path);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read manifest ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, ExitCodes.usage);
  }
  return { path: full, dir: dirname(full), manifest: parseManifest(text, path) };
}

/** Parses manifest text (JSON, or YAML for .yaml/.yml) and validates it. */
export function parseManifest(text: string, path: string): Manifest {
  let raw: unknown;
  try {
    raw = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new CliError(`${path}: not valid ${extname(path).slice(1).toUpperCase()}: ${(err as Error).message}`, ExitCodes.usage);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`);
    throw new CliError(`${path}: invalid manifest\n${lines.join('\n')}`, ExitCodes.usage);
  }
  return parsed.data;
}
