import { z } from 'zod';
import {
  DEFAULT_ASYNC_MAX_EVENT_AGE_S, DEFAULT_ASYNC_MAX_RETRY_ATTEMPTS, DEFAULT_ASYNC_RETRY_BASE_MS, DEFAULT_ASYNC_RETRY_MAX_MS,
  MAX_ASYNC_MAX_EVENT_AGE_S, MAX_ASYNC_MAX_RETRY_ATTEMPTS, MIN_ASYNC_MAX_EVENT_AGE_S,
} from '../../defaults.ts';
import { IsletError } from '../../errors.ts';
import type { RegistryStore } from '../../registry/types.ts';
import { parseDestination } from '../destinations.ts';

/** RegistryStore collection holding one async config per function (id = function name). */
export const ASYNC_CONFIG_COLLECTION = 'async-config';

const destination = z.string().trim().min(1).max(2048).superRefine((value, ctx) => {
  try {
    parseDestination(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** Body of `PUT /v1/functions/:name/async-config`; every field optional, defaults filled in. */
export const AsyncConfigSchema = z.strictObject({
  maxRetryAttempts: z.number().int().min(0).max(MAX_ASYNC_MAX_RETRY_ATTEMPTS).default(DEFAULT_ASYNC_MAX_RETRY_ATTEMPTS),
  maxEventAgeSeconds: z.number().int().min(MIN_ASYNC_MAX_EVENT_AGE_S).max(MAX_ASYNC_MAX_EVENT_AGE_S).default(DEFAULT_ASYNC_MAX_EVENT_AGE_S),
  retryBackoff: z.strictObject({
    baseMs: z.number().int().min(1).max(3_600_000).default(DEFAULT_ASYNC_RETRY_BASE_MS),
    maxMs: z.number().int().min(1).max(3_600_000).default(DEFAULT_ASYNC_RETRY_MAX_MS),
  }).refine((b) => b.maxMs >= b.baseMs, { message: 'retryBackoff.maxMs must be >= retryBackoff.baseMs' })
    .default({ baseMs: DEFAULT_ASYNC_RETRY_BASE_MS, maxMs: DEFAULT_ASYNC_RETRY_MAX_MS }),
  /** `nats:<subject>`, `function:<name>` or an http(s) URL. */
  onSuccess: destination.optional(),
  onFailure: destination.optional(),
});

/** A function's async settings, defaults applied. */
export type AsyncConfig = z.infer<typeof AsyncConfigSchema>;

/** The settings a function without a stored async config gets. */
export const DEFAULT_ASYNC_CONFIG: AsyncConfig = AsyncConfigSchema.parse({});

/** Validates a client body into an AsyncConfig or throws InvalidConfig naming the field. */
export function parseAsyncConfig(body: unknown): AsyncConfig {
  const parsed = AsyncConfigSchema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  throw new IsletError('InvalidConfig', `async-config ${field}: ${issue.message}`);
}

/** Reads async configs through the registry with an in-memory cache the registry watch keeps fresh. */
export class AsyncConfigs {
  readonly #store: RegistryStore;
  readonly #cache = new Map<string, AsyncConfig>();
  readonly #unwatch: () => void;

  constructor(store: RegistryStore) {
    this.#store = store;
    this.#unwatch = store.watch((change) => {
      if (change.collection === ASYNC_CONFIG_COLLECTION || change.collection === 'functions') this.#cache.delete(change.id);
    });
  }

  /** The function's config, or the defaults when none is stored. */
  async get(name: string): Promise<AsyncConfig> {
    const cached = this.#cache.get(name);
    if (cached) return cached;
    const stored = await this.#store.getDoc<AsyncConfig>(ASYNC_CONFIG_COLLECTION, name);
    // Parse again: a doc written by an older version gets today's defaults for new fields.
    const config = stored === undefined ? DEFAULT_ASYNC_CONFIG : AsyncConfigSchema.parse(stored);
    this.#cache.set(name, config);
    return config;
  }

  /** The stored config (undefined when the function uses the defaults). */
  async stored(name: string): Promise<AsyncConfig | undefined> {
    return this.#store.getDoc<AsyncConfig>(ASYNC_CONFIG_COLLECTION, name);
  }

  async put(name: string, config: AsyncConfig): Promise<void> {
    await this.#store.putDoc(ASYNC_CONFIG_COLLECTION, name, config);
    this.#cache.set(name, config);
  }

  async delete(name: string): Promise<boolean> {
    this.#cache.delete(name);
    return this.#store.deleteDoc(ASYNC_CONFIG_COLLECTION, name);
  }

  close(): void {
    this.#unwatch();
  }
}
