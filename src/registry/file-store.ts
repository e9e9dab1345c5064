import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../observability/logger.ts';
import { FUNCTION_NAME_PATTERN } from '../defaults.ts';
import { IsletError } from '../errors.ts';
import type { FunctionRecord, RegistryChange, RegistryStore } from './types.ts';

/** The collection functions live in (directory name and `RegistryChange.collection`). */
export const FUNCTIONS_COLLECTION = 'functions';

/** Collection names: lower-case words, so each maps to one plain directory. */
const COLLECTION_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Document ids: a safe file-name stem. No leading dot (temp files start with one), no separators. */
const DOC_ID_PATTERN = /^[A-Za-z0-9_@=+-][A-Za-z0-9_.@=+-]{0,199}$/;

/**
 * RegistryStore on the local disk: `<dir>/functions/<name>.json` and `<dir>/<collection>/<id>.json`.
 * Every write goes to a temp file that is fsynced and renamed over the target, so a crash leaves
 * the old or the new document, never half of one.
 */
export class FileStore implements RegistryStore {
  readonly #dir: string;
  readonly #log: Logger | undefined;
  readonly #listeners = new Set<(change: RegistryChange) => void>();
  #closed = false;

  private constructor(dir: string, log?: Logger) {
    this.#dir = dir;
    this.#log = log;
  }

  /** Opens (and creates) the store directory. */
  static async open(dir: string, options: { log?: Logger } = {}): Promise<FileStore> {
    const absolute = resolve(dir);
    await mkdir(join(absolute, FUNCTIONS_COLLECTION), { recursive: true });
    return new FileStore(absolute, options.log);
  }

  /** The absolute directory this store writes under. */
  get dir(): string {
    return this.#dir;
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    return this.#read<FunctionRecord>(this.#functionPath(name));
  }

  async listFunctions(): Promise<FunctionRecord[]> {
    return this.#list<FunctionRecord>(FUNCTIONS_COLLECTION);
  }

  async putFunction(record: FunctionRecord): Promise<void> {
    await this.#write(this.#functionPath(record.name), record);
    this.#emit({ collection: FUNCTIONS_COLLECTION, id: record.name, op: 'put' });
  }

  async deleteFunction(name: string): Promise<boolean> {
    const removed = await this.#remove(this.#functionPath(name));
    if (removed) this.#emit({ collection: FUNCTIONS_COLLECTION, id: name, op: 'delete' });
    return removed;
  }

  async getDoc<T>(collection: string, id: string): Promise<T | undefined> {
    return this.#read<T>(this.#docPath(collection, id));
  }

  async listDocs<T>(collection: string): Promise<T[]> {
    this.#checkCollection(collection);
    return this.#list<T>(collection);
  }

  async putDoc<T>(collection: string, id: string, value: T): Promise<void> {
    const path = this.#docPath(collection, id);
    await mkdir(join(this.#dir, collection), { recursive: true });
    await this.#write(path, value);
    this.#emit({ collection, id, op: 'put' });
  }

  async deleteDoc(collection: string, id: string): Promise<boolean> {
    const removed = await this.#remove(this.#docPath(collection, id));
    if (removed) this.#emit({ collection, id, op: 'delete' });
    return removed;
  }

  watch(listener: (change: RegistryChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
  }

  #functionPath(name: string): string {
    if (!FUNCTION_NAME_PATTERN.test(name)) {
      throw new IsletError('InvalidFunctionName', `invalid function name ${JSON.stringify(name.slice(0, 80))}: names match ${FUNCTION_NAME_PATTERN.source}`);
    }
    return join(this.#dir, FUNCTIONS_COLLECTION, `${name}.json`);
  }

  #checkCollection(collection: string): void {
    // 'functions' holds FunctionRecords only; documents there would corrupt the function list.
    if (!COLLECTION_PATTERN.test(collection) || collection === FUNCTIONS_COLLECTION) {
      throw new IsletError('BadRequest', `invalid registry collection ${JSON.stringify(collection.slice(0, 80))}`);
    }
  }

  #docPath(collection: string, id: string): string {
    this.#checkCollection(collection);
    if (!DOC_ID_PATTERN.test(id)) {
      throw new IsletError('BadRequest', `invalid id ${JSON.stringify(id.slice(0, 80))}: ids match ${DOC_ID_PATTERN.source}`);
    }
    return join(this.#dir, collection, `${id}.json`);
  }

  async #read<T>(path: string): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    return JSON.parse(text) as T;
  }

  async #list<T>(collection: string): Promise<T[]> {
    let names: string[];
    try {
      names = await readdir(join(this.#dir, collection));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    const files = names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
    const values: T[] = [];
    for (const file of files) {
      try {
        const value = await this.#read<T>(join(this.#dir, collection, file));
        if (value !== undefined) values.push(value); // deleted between readdir and read
      } catch (err) {
        // One unreadable file must not hide every other document; the operator gets a line to act on.
        this.#log?.error({ err, collection, file }, 'registry: skipping unreadable document');
      }
    }
    return values;
  }

  async #write(path: string, value: unknown): Promise<void> {
    if (this.#closed) throw new IsletError('ShuttingDown', 'the registry is closed');
    const text = JSON.stringify(value, null, 2);
    const dir = join(path, '..');
    const temp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } catch (err) {
      await handle.close();
      await unlink(temp).catch(() => {});
      throw err;
    }
    await handle.close();
    try {
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw err;
    }
    await syncDir(dir);
  }

  async #remove(path: string): Promise<boolean> {
    if (this.#closed) throw new IsletError('ShuttingDown', 'the registry is closed');
    try {
      await rm(path);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    await syncDir(join(path, '..'));
    return true;
  }

  #emit(change: RegistryChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.#log?.error({ err, change }, 'registry: watch listener threw');
      }
    }
  }
}

/** Makes a rename durable: fsync the directory entry (not supported everywhere; best effort). */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some platforms (Windows, some network file systems) cannot fsync a directory.
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
