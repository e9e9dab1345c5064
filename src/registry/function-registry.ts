import { createHash } from 'node:crypto';
import type { Logger } from '../observability/logger.ts';
import { FUNCTION_NAME_PATTERN } from '../defaults.ts';
import { IsletError } from '../errors.ts';
import type { CodeValidator } from '../invoke/types.ts';
import { DEFAULT_FUNCTION_CONFIG, parseDeployBody } from './schema.ts';
import { FUNCTIONS_COLLECTION } from './file-store.ts';
import type { FunctionConfig, FunctionRecord, RegistryStore } from './types.ts';

/** What clients see of a function: the record, with `code` only when asked for. */
export type FunctionInfo = Omit<FunctionRecord, 'code'> & { code?: string };

/** The version every function runs as until versions exist. */
export const LATEST_VERSION = '$LATEST';

/** Throws InvalidFunctionName unless `name` matches the one function-name pattern. */
export function assertFunctionName(name: string): void {
  if (!FUNCTION_NAME_PATTERN.test(name)) {
    throw new IsletError('InvalidFunctionName', `invalid function name ${JSON.stringify(name.slice(0, 80))}: names match ${FUNCTION_NAME_PATTERN.source}`);
  }
}

/** A record as the API shows it: code left out unless `includeCode`. */
export function toFunctionInfo(record: FunctionRecord, includeCode = false): FunctionInfo {
  const { code, ...info } = record;
  return includeCode ? { ...info, code } : info;
}

/**
 * Deploys, reads and deletes functions: validates config and code before anything is stored,
 * and keeps revision and timestamps. The store does the persistence.
 */
export class FunctionRegistry {
  readonly #store: RegistryStore;
  readonly #validateCode: CodeValidator;
  readonly #log: Logger;
  /** Per-name queue, so two deploys of one function cannot both read revision N. */
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Function names, loaded on first count() and kept current by the store's watch. */
  #names: Set<string> | undefined;
  /** Records read so far (the runtime looks one up per invocation); dropped on every change. */
  readonly #cache = new Map<string, FunctionRecord>();
  /** Bumped on each change of a name, so a read that raced a change is not cached. */
  readonly #generations = new Map<string, number>();
  readonly #unwatch: () => void;

  constructor(options: { store: RegistryStore; validateCode: CodeValidator; log: Logger }) {
    this.#store = options.store;
    this.#validateCode = options.validateCode;
    this.#log = options.log;
    this.#unwatch = this.#store.watch((change) => {
      if (change.collection !== FUNCTIONS_COLLECTION) return;
      this.#cache.delete(change.id);
      this.#generations.set(change.id, (this.#generations.get(change.id) ?? 0) + 1);
      if (this.#names === undefined) return;
      if (change.op === 'put') this.#names.add(change.id);
      else this.#names.delete(change.id);
    });
  }

  /**
   * Creates or updates function `name` from a PUT body. On create `code` is required; on update
   * omitted fields keep their values. Throws InvalidFunctionName, InvalidConfig or InvalidCode.
   */
  async deploy(name: string, body: unknown): Promise<{ record: FunctionRecord; created: boolean }> {
    assertFunctionName(name);
    const input = parseDeployBody(body);
    return this.#serialized(name, async () => {
      const current = await this.#store.getFunction(name);
      const code = input.code ?? current?.code;
      if (code === undefined) throw new IsletError('InvalidConfig', 'code: required when creating a function');

      const config = mergeConfig(current?.config ?? DEFAULT_FUNCTION_CONFIG, input);
      if (config.minWarm !== undefined && config.reservedConcurrency !== undefined && config.minWarm > config.reservedConcurrency) {
        throw new IsletError('InvalidConfig', `minWarm: ${config.minWarm} is over reservedConcurrency ${config.reservedConcurrency}`);
      }

      const codeSha256 = createHash('sha256').update(code).digest('hex');
      let handlerShape = current?.handlerShape;
      let exports = current?.exports;
      if (current === undefined || codeSha256 !== current.codeSha256) {
        // Nothing is stored unless the module compiles and has a handler (throws InvalidCode).
        ({ handlerShape, exports } = await this.#validateCode(code));
      }

      const now = new Date().toISOString();
      const record: FunctionRecord = {
        name,
        config,
        code,
        codeSha256,
        handlerShape: handlerShape!,
        exports: exports!,
        revision: (current?.revision ?? 0) + 1,
        version: LATEST_VERSION,
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
      };
      await this.#store.putFunction(record);
      this.#log.info({ fn: name, revision: record.revision, codeSha256 }, current ? 'function updated' : 'function created');
      return { record, created: current === undefined };
    });
  }

  /** The function, or throws FunctionNotFound. */
  async get(name: string): Promise<FunctionRecord> {
    const record = await this.find(name);
    if (record === undefined) throw new IsletError('FunctionNotFound', `function ${name} does not exist`);
    return record;
  }

  /** The function or undefined (InvalidFunctionName for a bad name). Served from memory after the first read. */
  async find(name: string): Promise<FunctionRecord | undefined> {
    assertFunctionName(name);
    const cached = this.#cache.get(name);
    if (cached !== undefined) return cached;
    const generation = this.#generations.get(name);
    const record = await this.#store.getFunction(name);
    // Only positive answers are cached: misses stay bounded by what exists, not by what clients ask.
    if (record !== undefined && this.#generations.get(name) === generation) this.#cache.set(name, record);
    return record;
  }

  /** Every function, sorted by name. */
  async list(): Promise<FunctionRecord[]> {
    const records = await this.#store.listFunctions();
    return records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** How many functions exist, without reading every record after the first call. */
  async count(): Promise<number> {
    if (this.#names === undefined) {
      const names = new Set((await this.#store.listFunctions()).map((r) => r.name));
      this.#names ??= names;
    }
    return this.#names.size;
  }

  /** Deletes the function, or throws FunctionNotFound. */
  async delete(name: string): Promise<void> {
    assertFunctionName(name);
    await this.#serialized(name, async () => {
      if (!(await this.#store.deleteFunction(name))) throw new IsletError('FunctionNotFound', `function ${name} does not exist`);
      this.#log.info({ fn: name }, 'function deleted');
    });
  }

  /** Stops following store changes (the store itself is closed by its owner). */
  close(): void {
    this.#unwatch();
    this.#cache.clear();
  }

  async #serialized<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(name) ?? Promise.resolve();
    const run = previous.then(work, work);
    const settled = run.catch(() => {});
    this.#locks.set(name, settled);
    try {
      return await run;
    } finally {
      if (this.#locks.get(name) === settled) this.#locks.delete(name);
    }
  }
}

function mergeConfig(base: Readonly<FunctionConfig> | typeof DEFAULT_FUNCTION_CONFIG, input: ReturnType<typeof parseDeployBody>): FunctionConfig {
  const config: FunctionConfig = {
    memoryMb: input.memoryMb ?? base.memoryMb,
    timeoutMs: input.timeoutMs ?? base.timeoutMs,
    env: { ...(input.env ?? base.env) },
  };
  const optional = ['cpuMs', 'reservedConcurrency', 'minWarm', 'description'] as const;
  for (const key of optional) {
    // undefined keeps the current value, null clears it.
    const value = input[key] !== undefined ? input[key] : (base as Partial<FunctionConfig>)[key];
    if (value !== null && value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  }
  return config;
}
