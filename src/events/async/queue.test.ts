import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config.ts';
import { IsletError, isIsletError } from '../../errors.ts';
import type { InvocationPayload, InvocationResult, InvokeOptions, Invoker } from '../../invoke/types.ts';
import { silentLogger } from '../../observability/logger.ts';
import { FileStore } from '../../registry/file-store.ts';
import type { FunctionRecord } from '../../registry/types.ts';
import { startNats } from '../../../test/helpers/nats.ts';
import { waitFor } from '../../../test/helpers/async.ts';
import { NatsEvents } from '../connection.ts';
import { AsyncQueue } from './queue.ts';

/** A test double of our own Invoker: each function name gets a scripted behaviour. */
class ScriptedInvoker implements Invoker {
  readonly calls: Array<{ name: string; payload: InvocationPayload; options: InvokeOptions }> = [];
  readonly #script: Record<string, (call: number) => 'ok' | 'throttle'>;
  constructor(script: Record<string, (call: number) => 'ok' | 'throttle'>) { this.#script = script; }
  async invoke(name: string, payload: InvocationPayload, options: InvokeOptions): Promise<InvocationResult> {
    const n = this.calls.filter((c) => c.name === name).length;
    const step = this.#script[name]?.(n);
    if (step === undefined) throw new IsletError('FunctionNotFound', name);
    if (step === 'throttle') throw new IsletError('TooManyRequests', 'throttled', { headers: { 'Retry-After': '0' } });
    this.calls.push({ name, payload, options });
    const report = { requestId: options.requestId!, functionName: name, version: '$LATEST', trigger: options.trigger, startedAt: '', durationMs: 1, billedDurationMs: 1, memoryLimitMb: 128, memoryUsedMb: 1, outcome: 'success' as const };
    return { requestId: options.requestId!, outcome: 'success', value: { kind: 'event', json: '{"done":true}' }, report };
  }
}

function fn(name: string): FunctionRecord {
  const now = new Date().toISOString();
  return { name, config: { memoryMb: 128, timeoutMs: 1000, env: {} }, code: '', codeSha256: '', handlerShape: 'lambda', exports: ['handler'], revision: 1, version: '$LATEST', createdAt: now, updatedAt: now };
}

async function setup(t: { after: (fn: () => Promise<void> | void) => void }, invoker: Invoker, now: () => number) {
  const nats = await startNats();
  t.after(() => nats.stop());
  const dir = await mkdtemp(join(tmpdir(), 'islet-queue-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = await FileStore.open(dir);
  t.after(() => store.close());
  const config = loadConfig({ NATS_URL: nats.url, ISLET_DATA_DIR: dir });
  const events = await NatsEvents.start(config, silentLogger());
  t.after(() => events.close());
  const queue = AsyncQueue.start({ events, store, invoker, config, log: silentLogger(), now });
  t.after(() => queue.close(1_000));
  return { store, queue, events };
}

describe('AsyncQueue', () => {
  it('expires a throttled event by its age on the injected clock, with no attempt spent', async (t) => {
    let clock = Date.now();
    const invoker = new ScriptedInvoker({ aged: () => 'throttle' });
    const { store, queue } = await setup(t, invoker, () => clock);
    await store.putFunction(fn('aged'));
    await queue.configs.put('aged', { maxRetryAttempts: 2, maxEventAgeSeconds: 60, retryBackoff: { baseMs: 10, maxMs: 10 } });
    const { requestId } = await queue.enqueue('aged', { kind: 'event', json: '{"a":1}' });
    await waitFor(async () => (await queue.invocationStatus(requestId)).state === 'queued', 10_000);
    clock += 61_000;
    const final = await waitFor(async () => { const s = await queue.invocationStatus(requestId); return s.state === 'dead-lettered' ? s : undefined; }, 15_000);
    assert.equal(final.attempts, 0);
    const [letter] = await queue.deadLetters.list('aged');
    assert.equal(letter?.record.requestContext.condition, 'EventAgeExceeded');
    assert.equal(letter?.record.requestContext.approximateInvokeCount, 0);
    assert.equal(invoker.calls.length, 0);
  });

  it('sends the record to a function: destination as that function\'s event, with trigger async and the same request id', async (t) => {
    const invoker = new ScriptedInvoker({ source: () => 'ok', audit: () => 'ok' });
    const { store, queue } = await setup(t, invoker, Date.now);
    await store.putFunction(fn('source'));
    await store.putFunction(fn('audit'));
    await queue.configs.put('source', { maxRetryAttempts: 0, maxEventAgeSeconds: 60, retryBackoff: { baseMs: 10, maxMs: 10 }, onSuccess: 'function:audit' });
    const { requestId } = await queue.enqueue('source', { kind: 'event', json: '{"order":7}' });
    await waitFor(() => invoker.calls.some((c) => c.name === 'audit'), 15_000);
    const source = invoker.calls.find((c) => c.name === 'source')!;
    assert.equal(source.options.trigger, 'async');
    assert.equal(source.options.requestId, requestId);
    assert.equal(source.options.attempt, 1);
    const audit = invoker.calls.find((c) => c.name === 'audit')!;
    assert.equal(audit.payload.kind, 'event');
    const record = JSON.parse((audit.payload as { json: string }).json) as { requestContext: { requestId: string; condition: string }; requestPayload: unknown; responsePayload: unknown };
    assert.equal(record.requestContext.requestId, requestId);
    assert.equal(record.requestContext.condition, 'Success');
    assert.deepEqual(record.requestPayload, { order: 7 });
    assert.deepEqual(record.responsePayload, { done: true });
  });

  it('rejects unknown functions, oversized events, and answers EventsUnavailable when disabled', async (t) => {
    const invoker = new ScriptedInvoker({});
    const { queue } = await setup(t, invoker, Date.now);
    await assert.rejects(queue.enqueue('ghost', { kind: 'event', json: '1' }), (err) => isIsletError(err, 'FunctionNotFound'));
    await assert.rejects(queue.enqueue('ghost', { kind: 'event', json: `"${'x'.repeat(1024 * 1024)}"` }), (err) => isIsletError(err, 'PayloadTooLarge'));

    const dir = await mkdtemp(join(tmpdir(), 'islet-queue-off-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const store = await FileStore.open(dir);
    t.after(() => store.close());
    const config = loadConfig({ ISLET_EMBEDDED_NATS: 'off', ISLET_DATA_DIR: dir });
    const off = AsyncQueue.start({ events: await NatsEvents.start(config, silentLogger()), store, invoker, config, log: silentLogger() });
    await assert.rejects(off.enqueue('any', { kind: 'event', json: '1' }), (err) => isIsletError(err, 'EventsUnavailable') && /NATS_URL/.test(err.message));
  });
});
