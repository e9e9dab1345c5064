import { z } from 'zod';
import {
  DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS, MAX_CODE_BYTES, MAX_MEMORY_MB, MAX_TIMEOUT_MS, MIN_MEMORY_MB,
} from '../defaults.ts';
import { IsletError } from '../errors.ts';

/** Environment variables one function may have. */
export const MAX_ENV_VARS = 256;
/** Length of one environment variable name. */
export const MAX_ENV_NAME_LENGTH = 128;
/** All names and values of one function's env together, UTF-8 bytes. */
export const MAX_ENV_TOTAL_BYTES = 64 * 1024;
/** Upper bound for reservedConcurrency and minWarm; the process-wide caps apply on top. */
export const MAX_FUNCTION_CONCURRENCY = 100_000;
/** Length of a function description. */
export const MAX_DESCRIPTION_LENGTH = 256;

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const env = z
  .record(
    z.string().max(MAX_ENV_NAME_LENGTH, `names are at most ${MAX_ENV_NAME_LENGTH} characters`).regex(ENV_NAME_PATTERN, `names match ${ENV_NAME_PATTERN.source}`),
    z.string(),
  )
  .refine((value) => Object.keys(value).length <= MAX_ENV_VARS, `at most ${MAX_ENV_VARS} variables`)
  .refine(
    (value) => Object.entries(value).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0) <= MAX_ENV_TOTAL_BYTES,
    `names and values together are at most ${MAX_ENV_TOTAL_BYTES} bytes`,
  );

const concurrency = z.number().int().min(0).max(MAX_FUNCTION_CONCURRENCY);

/**
 * The body of `PUT /v1/functions/:name`. Every field is optional here: on create `code` is
 * required (checked by the registry) and the rest take their defaults; on update an omitted
 * field keeps its current value and `null` clears an optional one.
 */
export const DeployBodySchema = z.strictObject({
  code: z.string().refine((code) => Buffer.byteLength(code) <= MAX_CODE_BYTES, `code is over ${MAX_CODE_BYTES} bytes`).optional(),
  memoryMb: z.number().int().min(MIN_MEMORY_MB).max(MAX_MEMORY_MB).optional(),
  timeoutMs: z.number().int().min(1).max(MAX_TIMEOUT_MS).optional(),
  cpuMs: z.number().int().min(1).max(MAX_TIMEOUT_MS).nullable().optional(),
  env: env.optional(),
  reservedConcurrency: concurrency.nullable().optional(),
  minWarm: concurrency.nullable().optional(),
  description: z.string().max(MAX_DESCRIPTION_LENGTH).nullable().optional(),
});

/** A parsed deploy body. */
export type DeployBody = z.infer<typeof DeployBodySchema>;

/** Defaults a new function starts from. */
export const DEFAULT_FUNCTION_CONFIG = { memoryMb: DEFAULT_MEMORY_MB, timeoutMs: DEFAULT_TIMEOUT_MS, env: {} } as const;

/** Validates a deploy body or throws InvalidConfig whose message names the first bad field. */
export function parseDeployBody(body: unknown): DeployBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new IsletError('InvalidConfig', 'the body must be a JSON object with `code` and config fields');
  }
  const parsed = DeployBodySchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  let field = issue.path.map(String).join('.');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    field = [...issue.path.map(String), ...issue.keys].join('.') || issue.keys.join(', ');
    message = 'unknown field';
  }
  throw new IsletError('InvalidConfig', `${field || 'body'}: ${message}`);
}
