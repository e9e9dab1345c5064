import { createHash } from 'node:crypto';
import { DEFAULT_MEMORY_MB } from '../defaults.ts';
import type { HttpPayload, HttpResult, InvocationObserver, InvocationResult } from '../invoke/types.ts';
import { silentLogger } from '../observability/logger.ts';
import type { FunctionConfig, FunctionRecord } from '../registry/types.ts';
import { FunctionRuntime, type FunctionRuntimeOptions } from './runtime.ts';

/** A runtime over an in-memory function table, for tests and benchmarks. */
export class TestFunctions {
  readonly runtime: FunctionRuntime;
  readonly records = new Map<string, FunctionRecord>();

  constructor(options: Partial<FunctionRuntimeOptions> & { observer?: InvocationObserver } = {}) {
    this.runtime = new FunctionRuntime({
      getFunction: async (name) => this.records.get(name),
      log: silentLogger(),
      spareIsolates: 0,
      ...options,
    });
  }

  /** Validates and stores a function (a redeploy bumps the revision), then tells the runtime. */
  async deploy(name: string, code: string, config: Partial<FunctionConfig> = {}): Promise<FunctionRecord> {
    const found = await this.runtime.validateCode(code);
    const previous = this.records.get(name);
    const now = new Date().toISOString();
    const record: FunctionRecord = {
      name, code, codeSha256: createHash('sha256').update(code).digest('hex'),
      handlerShape: found.handlerShape, exports: found.exports,
      revision: (previous?.revision ?? 0) + 1, version: '$LATEST', createdAt: previous?.createdAt ?? now, updatedAt: now,
      config: { memoryMb: DEFAULT_MEMORY_MB, timeoutMs: 2_000, env: {}, ...config },
    };
    this.records.set(name, record);
    await this.runtime.onFunctionChanged(name);
    return record;
  }

  close(): Promise<void> {
    return this.runtime.close();
  }
}

/** An HTTP payload as the trigger builds it. */
export function httpPayload(init: { method?: string; path?: string; query?: string; headers?: Array<[string, string]>; body?: string | Uint8Array } = {}): HttpPayload {
  const path = init.path ?? '/';
  const query = init.query ?? '';
  const body = init.body === undefined ? null : typeof init.body === 'string' ? new TextEncoder().encode(init.body) : init.body;
  return {
    kind: 'http', method: init.method ?? 'GET', path, rawQuery: query,
    headers: [['host', 'islet.test'], ...(init.headers ?? [])], body, sourceIp: '127.0.0.1',
    url: `http://islet.test/fn/x${path}${query === '' ? '' : `?${query}`}`,
  };
}

/** The HTTP result of a successful invocation (throws with the error otherwise). */
export function httpResult(result: InvocationResult): HttpResult & { text: string } {
  if (result.outcome !== 'success' || result.value?.kind !== 'http') {
    throw new Error(`expected an HTTP success, got ${result.outcome}: ${JSON.stringify(result.error)}`);
  }
  return { ...result.value, text: new TextDecoder().decode(result.value.body) };
}

/** Polls `check` until it holds (tests must not depend on machine speed). */
export async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
