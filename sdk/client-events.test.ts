import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startNats } from '../test/helpers/nats.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { IsletApiError, IsletClient } from './index.ts';
import { eventually } from '../test/helpers/eventually.ts';

const FLAKY = `
export async function handler(event) {
  if (event && event.ok) return { done: event.ok };
  throw new Error('always fails');
}`;


it('IsletClient round-trips async config, async invocations, dead letters and event sources', async (t) => {
  const nats = await startNats();
  const srv = await startTestServer(t, { env: { NATS_URL: nats.url } }).catch(async (err: unknown) => { await nats.stop(); throw err; });
  // after-hooks run in registration order: islet closes before its nats-server stops.
  t.after(() => nats.stop());
  const islet = new IsletClient({ url: srv.url });
  await islet.deploy('flaky', { code: FLAKY });

  // Async config: defaults, put, delete.
  const defaults = await islet.asyncConfig.get('flaky');
  assert.equal(defaults.functionName, 'flaky');
  assert.equal(defaults.maxRetryAttempts, 2);
  const put = await islet.asyncConfig.put('flaky', { maxRetryAttempts: 0, retryBackoff: { baseMs: 10, maxMs: 10 } });
  assert.equal(put.maxRetryAttempts, 0);
  await assert.rejects(islet.asyncConfig.put('flaky', { onFailure: 'smtp:nope' }), (err: unknown) => err instanceof IsletApiError && err.code === 'InvalidConfig');

  // Async invocations: one succeeds, one ends in the dead-letter stream (no onFailure).
  const ok = await islet.invoke<{ requestId: string }>('flaky', { ok: 'yes' }, { type: 'Event' });
  assert.equal(ok.status, 202);
  const failed = await islet.invoke<{ requestId: string }>('flaky', { ok: false }, { type: 'Event' });
  const okStatus = await eventually('the success status', async () => {
    const s = await islet.invocation(ok.payload.requestId);
    return s.state === 'succeeded' ? s : undefined;
  });
  assert.equal(okStatus.functionName, 'flaky');
  await eventually('the dead-lettered status', async () => (await islet.invocation(failed.payload.requestId)).state === 'dead-lettered' ? true : undefined);

  const letters = await islet.deadLetters.list('flaky');
  assert.equal(letters.length, 1, `one failed event, one dead letter: ${JSON.stringify(letters)}`);
  assert.equal(letters[0]!.requestId, failed.payload.requestId);
  assert.deepEqual(letters[0]!.record.requestPayload, { ok: false });
  assert.equal(await islet.deadLetters.redrive('flaky'), 1);
  // It fails again and comes back to the dead-letter stream.
  await eventually('the redriven event to fail again', async () => (await islet.deadLetters.list('flaky')).length === 1
    && (await islet.invocation(failed.payload.requestId)).state === 'dead-lettered' ? true : undefined);
  assert.deepEqual(await islet.asyncConfig.delete('flaky'), { deleted: true });
  assert.deepEqual(await islet.asyncConfig.delete('flaky'), { deleted: false });

  // Event sources: create, get, update, disable, enable, delete.
  const mapping = await islet.eventSources.create({ function: 'flaky', source: { subject: 'sdk.items' }, batchSize: 3 });
  assert.equal(mapping.function, 'flaky');
  assert.equal((await islet.eventSources.get(mapping.id)).batchSize, 3);
  assert.equal((await islet.eventSources.update(mapping.id, { batchSize: 7 })).batchSize, 7);
  assert.deepEqual((await islet.eventSources.list('flaky')).map((m) => m.id), [mapping.id]);
  assert.deepEqual(await islet.eventSources.list('other'), []);
  await islet.eventSources.disable(mapping.id);
  await eventually('the mapping to be disabled', async () => (await islet.eventSources.get(mapping.id)).state === 'Disabled' ? true : undefined);
  await islet.eventSources.enable(mapping.id);
  await eventually('the mapping to be enabled', async () => (await islet.eventSources.get(mapping.id)).state === 'Enabled' ? true : undefined);
  await islet.eventSources.delete(mapping.id);
  await assert.rejects(islet.eventSources.get(mapping.id), (err: unknown) => err instanceof IsletApiError && err.status === 404);
});
