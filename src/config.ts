import { z } from 'zod';
import {
  DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_IDLE_TTL_MS, DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_EVENT_BYTES,
  DEFAULT_EVENT_SOURCE_ACK_WAIT_MS, DEFAULT_MAX_EXECUTING, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_WARM_ISOLATES, DEFAULT_PORT,
} from './defaults.ts';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const optionalString = z.string().trim().min(1).optional();

/** The one schema for every setting. Environment names are the keys; CLI flags map onto them. */
export const ConfigSchema = z.object({
  PORT: int(0, 65535).default(DEFAULT_PORT),
  HOST: z.string().min(1).default(DEFAULT_HOST),
  ISLET_DATA_DIR: z.string().min(1).default(DEFAULT_DATA_DIR),
  ISLET_ADMIN_TOKEN: optionalString,
  NATS_URL: optionalString,
  NATS_TOKEN: optionalString,
  NATS_USER: optionalString,
  NATS_PASS: optionalString,
  NATS_CREDS: optionalString,
  /** `auto`: start an embedded nats-server when NATS_URL is unset and the binary is on PATH. */
  ISLET_EMBEDDED_NATS: z.enum(['auto', 'off']).default('auto'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ISLET_MAX_CONCURRENCY: int(1).default(DEFAULT_MAX_CONCURRENCY),
  ISLET_MAX_EXECUTING: int(1, 1024).default(DEFAULT_MAX_EXECUTING),
  ISLET_MAX_WARM_ISOLATES: int(0).default(DEFAULT_MAX_WARM_ISOLATES),
  ISLET_IDLE_TTL_MS: int(1_000).default(DEFAULT_IDLE_TTL_MS),
  ISLET_MAX_REQUEST_BYTES: int(1).default(DEFAULT_MAX_REQUEST_BYTES),
  ISLET_MAX_RESPONSE_BYTES: int(1).default(DEFAULT_MAX_RESPONSE_BYTES),
  ISLET_MAX_EVENT_BYTES: int(1).default(DEFAULT_MAX_EVENT_BYTES),
  /** ack_wait of event-source consumers: how soon a message held by a crashed or stopped islet is redelivered. */
  ISLET_EVENT_SOURCE_ACK_WAIT_MS: int(1_000, 3_600_000).default(DEFAULT_EVENT_SOURCE_ACK_WAIT_MS),
});

/** Parsed, validated settings: internals receive this, never raw env. */
export type Config = z.infer<typeof ConfigSchema>;

/** Thrown for a bad setting; main prints its one-line message and exits. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates env (plus overrides, e.g. from CLI flags) into a Config, or throws one clear ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Record<keyof Config, string | number>> = {}): Config {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const value = overrides[key as keyof Config] ?? env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'config');
    throw new ConfigError(`invalid setting ${name}=${JSON.stringify(input[name])}: ${issue.message}`);
  }
  return parsed.data;
}
