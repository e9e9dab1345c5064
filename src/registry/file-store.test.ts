import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from './file-store.ts';
import type { FunctionRecord, RegistryChange } from './types.ts';
import { isIsletError } from '../errors.ts';

async function tempStore(t: { after: (fn: () => Promise<void>) => void }): Promise<{ store: FileStore; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'islet-store-'));
  const store = await FileStore.open(dir);
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, dir };
}

function record(name: string, revision = 1): FunctionRecord {
  return {
    name, config: { memoryMb: 128, timeoutMs: 3000, env: {} }, code: 'export default {}', codeSha256: 'x',
    handlerShape: 'edge', exports: ['fetch'], revision, version: '$LATEST', createdAt: 'now', updatedAt: 'now',
  };
}

describe('FileStore', () => {
  it('stores functions as functions/<name>.json and reads them back', async (t) => {
    const { store, dir } = await tempStore(t);
    await store.putFunction(record('hello'));
    const onDisk = JSON.parse(await readFile(join(dir, 'functions', 'hello.json'), 'utf8'));
    assert.equal(onDisk.name, 'hello');
    assert.deepEqual(await store.getFunction('hello'), record('hello'));
    assert.equal(await store.getFunction('nope'), undefined);
    await store.putFunction(record('another'));
    assert.deepEqual((await store.listFunctions()).map((r) => r.name), ['another', 'hello']);
  });

  it('leaves no temp files behind after writes', async (t) => {
    const { store, dir } = await tempStore(t);
    await Promise.all([1, 2, 3, 4, 5].map((n) => store.putFunction(record('same', n))));
    assert.deepEqual(await readdir(join(dir, 'functions')), ['same.json']);
  });

  it('deletes and reports whether something was there', async (t) => {
    const { store } = await tempStore(t);
    await store.putFunction(record('gone'));
    assert.equal(await store.deleteFunction('gone'), true);
    assert.equal(await store.deleteFunction('gone'), false);
    assert.equal(await store.getFunction('gone'), undefined);
  });

  it('keeps documents per collection', async (t) => {
    const { store, dir } = await tempStore(t);
    await store.putDoc('event-sources', 'm1', { a: 1 });
    await store.putDoc('event-sources', 'm2', { a: 2 });
    assert.deepEqual(await store.getDoc('event-sources', 'm1'), { a: 1 });
    assert.deepEqual(await store.listDocs('event-sources'), [{ a: 1 }, { a: 2 }]);
    assert.deepEqual(await store.listDocs('empty'), []);
    assert.ok((await readdir(join(dir, 'event-sources'))).includes('m1.json'));
    assert.equal(await store.deleteDoc('event-sources', 'm1'), true);
    assert.deepEqual(await store.listDocs('event-sources'), [{ a: 2 }]);
  });

  it('rejects names and ids that could leave the data directory', async (t) => {
    const { store } = await tempStore(t);
    for (const name of ['../x', '..', 'a/b', 'a\\b', '', 'x'.repeat(65), '.hidden']) {
      await assert.rejects(store.getFunction(name), (err) => isIsletError(err, 'InvalidFunctionName'), name);
      await assert.rejects(store.putFunction(record(name)), (err) => isIsletError(err, 'InvalidFunctionName'), name);
    }
    for (const id of ['../x', '..', '.', 'a/b', '', '.tmp']) {
      await assert.rejects(store.putDoc('docs', id, {}), (err) => isIsletError(err, 'BadRequest'), id);
    }
    for (const collection of ['..', '../etc', 'a/b', 'functions', 'UPPER']) {
      await assert.rejects(store.putDoc(collection, 'id', {}), (err) => isIsletError(err, 'BadRequest'), collection);
    }
  });

  it('notifies watchers after each local change and stops after unsubscribe', async (t) => {
    const { store } = await tempStore(t);
    const seen: RegistryChange[] = [];
    const unwatch = store.watch((change) => {
      seen.push(change);
      throw new Error('a failing listener must not break the store');
    });
    await store.putFunction(record('w'));
    await store.deleteFunction('w');
    await store.deleteFunction('w'); // nothing there: no event
    await store.putDoc('async-config', 'w', {});
    unwatch();
    await store.putFunction(record('w'));
    assert.deepEqual(seen, [
      { collection: 'functions', id: 'w', op: 'put' },
      { collection: 'functions', id: 'w', op: 'delete' },
      { collection: 'async-config', id: 'w', op: 'put' },
    ]);
  });

  it('skips an unreadable file when listing instead of failing the list', async (t) => {
    const { store, dir } = await tempStore(t);
    await store.putFunction(record('good'));
    await writeFile(join(dir, 'functions', 'broken.json'), '{not json');
    assert.deepEqual((await store.listFunctions()).map((r) => r.name), ['good']);
  });
});
