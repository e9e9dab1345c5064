/** Function configuration as users set it (PUT /v1/functions/:name). Defaults live in src/defaults.ts. */
export interface FunctionConfig {
  /** Isolate heap limit. @default 128 */
  memoryMb: number;
  /** Wall clock for a whole invocation, awaited promises included. @default 3000 */
  timeoutMs: number;
  /** Optional CPU-time cap per invocation (isolate.cpuTime). */
  cpuMs?: number;
  /** Environment: `process.env` for Lambda style, `env` for edge style. */
  env: Record<string, string>;
  /** Reserves AND caps concurrent executions; 0 throttles everything. Unset: shares the process pool. */
  reservedConcurrency?: number;
  /** Isolates kept warm even when idle (provisioned concurrency). @default 0 */
  minWarm?: number;
  description?: string;
}

/** Which handler shape the module exports, detected at deploy. */
export type HandlerShape = 'edge' | 'lambda';

/** A stored function: code plus config. `revision` grows by one on every update. */
export interface FunctionRecord {
  name: string;
  config: FunctionConfig;
  /** One ES module, source text. */
  code: string;
  codeSha256: string;
  handlerShape: HandlerShape;
  /** Handler kinds found in the module: 'fetch' | 'queue' | 'handler' | 'scheduled' … */
  exports: string[];
  revision: number;
  /** '$LATEST' until versions exist. */
  version: string;
  createdAt: string;
  updatedAt: string;
}

/** A change in the registry; nodes (and the runtime) react to these. */
export interface RegistryChange {
  collection: string;
  id: string;
  op: 'put' | 'delete';
}

/**
 * Storage for functions and other documents (async configs, event-source mappings, …).
 * File store by default; a NATS KV store implements the same interface for several nodes.
 */
export interface RegistryStore {
  getFunction(name: string): Promise<FunctionRecord | undefined>;
  listFunctions(): Promise<FunctionRecord[]>;
  putFunction(record: FunctionRecord): Promise<void>;
  deleteFunction(name: string): Promise<boolean>;

  /** Generic JSON documents by collection ('async-config', 'event-sources', …). */
  getDoc<T>(collection: string, id: string): Promise<T | undefined>;
  listDocs<T>(collection: string): Promise<T[]>;
  putDoc<T>(collection: string, id: string, value: T): Promise<void>;
  deleteDoc(collection: string, id: string): Promise<boolean>;

  /** Calls `listener` after every change (functions use the collection 'functions'). Returns an unsubscribe. */
  watch(listener: (change: RegistryChange) => void): () => void;
  close(): Promise<void>;
}
