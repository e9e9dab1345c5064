import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from './file-store.ts';
import { FunctionRegistry, toFunctionInfo } from './function-registry.ts';
import { IsletError, isIsletError } from '../errors.ts';
import { silentLogger } from '../observability/logger.ts';
import type { CodeValidator } from '../invoke/types.ts';

/** A validator that accepts code containing 'export' and counts its calls. */
function fakeValidator(): CodeValidator & { calls: number } {
  const validate = (async (code: string) => {
    validate.calls++;
    if (!code.includes('export')) throw new IsletError('InvalidCode', 'SyntaxError: no export at 1:1');
    return { handlerShape: 'edge' as const, exports: ['fetch'] };
  }) as CodeValidator & { calls: number };
  validate.calls = 0;
  return validate;
}

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'islet-registry-'));
  const store = await FileStore.open(dir);
  const validate = fakeValidator();
  const registry = new FunctionRegistry({ store, validateCode: validate, log: silentLogger() });
  t.after(async () => {
    registry.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, registry, validate };
}

const CODE = 'export default { fetch() { return new Response("hi") } }';

describe('FunctionRegistry', () => {
  it('creates a function with default config, sha256 and revision 1', async (t) => {
    const { registry } = await setup(t);
    const { record, created } = await registry.deploy('hello', { code: CODE });
    assert.equal(created, true);
    assert.deepEqual(record.config, { memoryMb: 128, timeoutMs: 3000, env: {} });
    assert.match(record.codeSha256, /^[0-9a-f]{64}$/);
    assert.equal(record.revision, 1);
    assert.equal(record.version, '$LATEST');
    assert.equal(record.createdAt, record.updatedAt);
    assert.deepEqual(await registry.get('hello'), record);
  });

  it('updates config alone, keeping code and bumping the revision', async (t) => {
    const { registry, validate } = await setup(t);
    const first = await registry.deploy('f', { code: CODE, env: { A: '1' }, cpuMs: 50 });
    const second = await registry.deploy('f', { timeoutMs: 10_000, cpuMs: null });
    assert.equal(second.created, false);
    assert.equal(second.record.code, CODE);
    assert.equal(second.record.revision, 2);
    assert.equal(second.record.createdAt, first.record.createdAt);
    assert.deepEqual(second.record.config, { memoryMb: 128, timeoutMs: 10_000, env: { A: '1' } });
    assert.equal(validate.calls, 1, 'unchanged code is not validated again');
  });

  it('requires code on create', async (t) => {
    const { registry } = await setup(t);
    await assert.rejects(registry.deploy('f', { memoryMb: 256 }), (err) => isIsletError(err, 'InvalidConfig') && /code/.test(err.message));
  });

  it('rejects out-of-range config with a message naming the field, storing nothing', async (t) => {
    const { registry } = await setup(t);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ code: CODE, memoryMb: 8 }, /^memoryMb:/],
      [{ code: CODE, memoryMb: 5000 }, /^memoryMb:/],
      [{ code: CODE, timeoutMs: 0 }, /^timeoutMs:/],
      [{ code: CODE, timeoutMs: 900_001 }, /^timeoutMs:/],
      [{ code: CODE, timeoutMs: 1.5 }, /^timeoutMs:/],
      [{ code: CODE, env: { '1BAD': 'x' } }, /^env/],
      [{ code: CODE, env: { A: 1 } }, /^env\.A:/],
      [{ code: CODE, reservedConcurrency: -1 }, /^reservedConcurrency:/],
      [{ code: CODE, description: 'x'.repeat(257) }, /^description:/],
      [{ code: CODE, timeout: 5 }, /^timeout: unknown field/],
      [{ code: 42 }, /^code:/],
      [{ code: CODE, minWarm: 3, reservedConcurrency: 1 }, /^minWarm:/],
    ];
    for (const [body, message] of cases) {
      await assert.rejects(registry.deploy('f', body), (err) => isIsletError(err, 'InvalidConfig') && message.test(err.message), JSON.stringify(body).slice(0, 80));
    }
    await assert.rejects(registry.deploy('f', 'not an object'), (err) => isIsletError(err, 'InvalidConfig'));
    assert.deepEqual(await registry.list(), []);
  });

  it('passes InvalidCode through and stores nothing', async (t) => {
    const { registry } = await setup(t);
    await assert.rejects(registry.deploy('bad', { code: 'syntax error here' }), (err) => isIsletError(err, 'InvalidCode'));
    assert.equal(await registry.find('bad'), undefined);
  });

  it('rejects bad names before touching the store', async (t) => {
    const { registry } = await setup(t);
    for (const name of ['../etc', 'a b', 'x'.repeat(65), '']) {
      await assert.rejects(registry.deploy(name, { code: CODE }), (err) => isIsletError(err, 'InvalidFunctionName'));
      await assert.rejects(registry.get(name), (err) => isIsletError(err, 'InvalidFunctionName'));
    }
  });

  it('gives each of several concurrent deploys its own revision', async (t) => {
    const { registry } = await setup(t);
    await Promise.all(Array.from({ length: 5 }, (_, i) => registry.deploy('c', { code: `${CODE} // ${i}` })));
    assert.equal((await registry.get('c')).revision, 5);
  });

  it('deletes, then answers FunctionNotFound; count follows changes', async (t) => {
    const { registry } = await setup(t);
    await registry.deploy('a', { code: CODE });
    assert.equal(await registry.count(), 1);
    await registry.deploy('b', { code: CODE });
    assert.equal(await registry.count(), 2);
    await registry.delete('a');
    assert.equal(await registry.count(), 1);
    await assert.rejects(registry.get('a'), (err) => isIsletError(err, 'FunctionNotFound'));
    await assert.rejects(registry.delete('a'), (err) => isIsletError(err, 'FunctionNotFound'));
  });

  it('serves find() from memory and sees changes made through the store', async (t) => {
    const { registry, store } = await setup(t);
    const { record } = await registry.deploy('cached', { code: CODE });
    assert.equal((await registry.find('cached'))?.revision, 1);
    await store.putFunction({ ...record, revision: 7 }); // e.g. another node, through a shared store
    assert.equal((await registry.find('cached'))?.revision, 7);
    await store.deleteFunction('cached');
    assert.equal(await registry.find('cached'), undefined);
  });

  it('leaves code out of function info unless asked', async (t) => {
    const { registry } = await setup(t);
    const { record } = await registry.deploy('i', { code: CODE });
    assert.equal('code' in toFunctionInfo(record), false);
    assert.equal(toFunctionInfo(record, true).code, CODE);
  });
});
