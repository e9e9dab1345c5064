import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckPolicy } from '@nats-io/jetstream';
import { IsletError, isIsletError } from '../../errors.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { harness, publishAll, ScriptedInvoker, sleep, until, type ScriptAnswer } from '../../../test/helpers/event-sources.ts';
import { silentLogger } from '../../observability/logger.ts';
import { FileStore } from '../../registry/file-store.ts';
import { consumerName, EventSourceManager, ownedStreamName } from './manager.ts';
import { DLQ_STREAM } from '../async/jetstream.ts';
import type { EventSourceFailureRecord } from './failure.ts';

const range = (n: number, prefix = 'm') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

async function deadLetters(h: Awaited<ReturnType<typeof harness>>): Promise<EventSourceFailureRecord[]> {
  const info = await h.jsm.streams.info(DLQ_STREAM);
  const out: EventSourceFailureRecord[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await h.jsm.streams.getMessage(DLQ_STREAM, { seq });
    if (m) out.push(m.json<EventSourceFailureRecord>());
  }
  return out;
}

describe('event source mappings (scripted function)', () => {
  it('delivers 1,000 messages in batches of at most 50, each exactly once when nothing fails', async (t) => {
    const h = await harness(t);
    const mapping = await h.manager.create({ function: 'fn', source: { subject: 'orders.new' }, batchSize: 50 });
    assert.equal(mapping.state, 'Enabled');
    assert.equal(mapping.stream, ownedStreamName(mapping.id));
    await publishAll(h.js, 'orders.new', range(1000));
    await until('1000 processed', () => h.manager.get(mapping.id).counters.processed >= 1000, 60_000);
    await sleep(300);
    const bodies = h.invoker.succeededBodies();
    assert.equal(bodies.length, 1000);
    assert.deepEqual(new Set(bodies), new Set(range(1000)));
    assert.ok(h.invoker.calls.every((c) => c.messages.length <= 50 && c.messages.every((m) => m.attempts === 1)));
    const first = h.invoker.calls[0]!.messages[0]!;
    assert.equal(first.subject, 'orders.new');
    assert.match(first.id, new RegExp(`^${ownedStreamName(mapping.id)}:\\d+$`));
    assert.ok(first.sequence >= 1 && !Number.isNaN(Date.parse(first.timestamp)));
  });

  it('flushes a batch smaller than batchSize when the window closes', async (t) => {
    const h = await harness(t);
    const mapping = await h.manager.create({ function: 'fn', source: { subject: 'w' }, batchSize: 100, maxBatchingWindowMs: 1500 });
    await publishAll(h.js, 'w', ['a', 'b', 'c']);
    await until('window flush', () => h.manager.get(mapping.id).counters.processed === 3);
    assert.equal(h.invoker.calls.length, 1);
    assert.deepEqual(h.invoker.calls[0]!.messages.map((m) => m.body), ['a', 'b', 'c']);
  });

  it('retries only the ids a partial failure names', async (t) => {
    const h = await harness(t);
    h.invoker.script = (batch) => {
      const bad = batch.messages.filter((m) => m.body.startsWith('bad') && m.attempts === 1);
      return bad.length > 0 ? { failures: bad.map((m) => ({ id: m.id })) } : 'ok';
    };
    const mapping = await h.manager.create({ function: 'fn', source: { subject: 'p' }, batchSize: 10, maxBatchingWindowMs: 500, reportBatchItemFailures: true });
    await publishAll(h.js, 'p', ['ok1', 'bad1', 'ok2', 'bad2', 'ok3']);
    await until('all processed', () => h.manager.get(mapping.id).counters.processed === 5);
    const retried = h.invoker.calls.slice(1).flatMap((c) => c.messages);
    assert.deepEqual(retried.map((m) => m.body).sort(), ['bad1', 'bad2']);
    assert.ok(retried.every((m) => m.attempts === 2));
    assert.equal(h.invoker.calls[0]!.messages.length, 5);
  });

  it('bisects a failing batch to isolate a poison message and dead-letters it', async (t) => {
    const h = await harness(t);
    h.invoker.script = (batch) => batch.messages.some((m) => m.body === 'poison') ? 'error' : 'ok';
    const mapping = await h.manager.create({
      function: 'fn', source: { subject: 'b' }, batchSize: 8, maxBatchingWindowMs: 1000, bisectOnError: true, maxRetryAttempts: 0,
    });
    await publishAll(h.js, 'b', ['m0', 'm1', 'm2', 'poison', 'm4', 'm5', 'm6', 'm7']);
    await until('poison dead-lettered', () => {
      const c = h.manager.get(mapping.id).counters;
      return c.processed === 7 && c.failed === 1;
    });
    assert.deepEqual(h.invoker.succeededBodies().sort(), ['m0', 'm1', 'm2', 'm4', 'm5', 'm6', 'm7']);
    const [record] = await deadLetters(h);
    assert.ok(record);
    assert.equal(record.requestContext.condition, 'RetryAttemptsExhausted');
    assert.equal(record.requestContext.functionName, 'fn');
    assert.deepEqual(record.requestPayload.messages.map((m) => m.body), ['poison']);
    assert.equal(record.batchInfo.mappingId, mapping.id);
    assert.equal(record.batchInfo.batchSize, 1);
    assert.equal(record.batchInfo.firstSequence, 4);
    assert.equal(record.responseContext.functionError, 'Unhandled');
    const stored = await h.jsm.streams.getMessage(DLQ_STREAM, { last_by_subj: `islet.dlq.fn.esm.${mapping.id}` });
    assert.equal(stored?.header.get('Islet-Condition'), 'RetryAttemptsExhausted');
    assert.equal((record.responsePayload as { errorMessage: string }).errorMessage, 'scripted failure');
  });

  it('retries a whole failed batch with backoff until maxRetryAttempts, then dead-letters it', async (t) => {
    const h = await harness(t);
    h.invoker.script = () => 'error';
    const mapping = await h.manager.create({ function: 'fn', source: { subject: 'r' }, batchSize: 5, maxBatchingWindowMs: 300, maxRetryAttempts: 2 });
    await publishAll(h.js, 'r', ['x', 'y']);
    await until('dead-lettered', () => h.manager.get(mapping.id).counters.failed === 2);
    const attemptsOfX = h.invoker.calls.flatMap((c) => c.messages).filter((m) => m.body === 'x').map((m) => m.attempts);
    assert.deepEqual(attemptsOfX, [1, 2, 3]);
    assert.equal(h.manager.get(mapping.id).lastProcessingResult, 'PROBLEM: Function call failed');
  });

  it('acks and counts messages no filter pattern matches, without invoking for them', async (t) => {
    const h = await harness(t);
    const mapping = await h.manager.create({
      function: 'fn', source: { subject: 'f' }, batchSize: 100, maxBatchingWindowMs: 500,
      filter: { filters: [{ pattern: '{"body":{"type":["order"]}}' }] },
    });
    const bodies = range(10).map((_, i) => JSON.stringify({ type: i % 2 ? 'order' : 'ping', i }));
    await publishAll(h.js, 'f', bodies);
    await until('filtered', () => { const c = h.manager.get(mapping.id).counters; return c.processed === 5 && c.filtered === 5; });
    assert.ok(h.invoker.succeededBodies().every((b) => JSON.parse(b).type === 'order'));
    const info = await h.jsm.consumers.info(mapping.stream, mapping.consumer);
    assert.equal(info.num_ack_pending, 0);
  });

  it('keeps publish order in ordered mode even when a batch fails and is retried', async (t) => {
    const h = await harness(t);
    let failedOnce = false;
    h.invoker.script = (batch) => {
      if (!failedOnce && batch.messages.some((m) => m.body === 'm7')) { failedOnce = true; return 'error'; }
      return 'ok';
    };
    const mapping = await h.manager.create({ function: 'fn', source: { subject: 'o' }, batchSize: 5, maxConcurrency: 4, ordered: true });
    await publishAll(h.js, 'o', range(40));
    await until('ordered processed', () => h.manager.get(mapping.id).counters.processed === 40);
    assert.ok(failedOnce);
    assert.deepEqual(h.invoker.succeededBodies(), range(40));
  });

  it('stops delivery when disabled and resumes without loss when enabled', async (t) => {
    const h = await harness(t);
    const mapping = await h.manager.create({ function: 'fn', source: { subject: 'd' }, batchSize: 10 });
    await publishAll(h.js, 'd', range(10, 'a'));
    await until('first part', () => h.manager.get(mapping.id).counters.processed === 10);
    const disabled = await h.manager.setEnabled(mapping.id, false);
    assert.equal(disabled.state, 'Disabled');
    assert.equal(disabled.enabled, false);
    const callsBefore = h.invoker.calls.length;
    await publishAll(h.js, 'd', range(10, 'b'));
    await sleep(700);
    assert.equal(h.invoker.calls.length, callsBefore);
    assert.equal((await h.jsm.consumers.info(mapping.stream, mapping.consumer)).num_pending, 10);
    assert.equal((await h.manager.setEnabled(mapping.id, true)).state, 'Enabled');
    await until('second part', () => h.manager.get(mapping.id).counters.processed === 20);
    assert.deepEqual(new Set(h.invoker.succeededBodies()), new Set([...range(10, 'a'), ...range(10, 'b')]));
  });

  it('loses nothing when the manager restarts mid-stream (mappings and counters are restored)', async (t) => {
    const h = await harness(t);
    h.invoker.script = async (): Promise<ScriptAnswer> => { await sleep(5); return 'ok'; };
    const mapping = await h.manager.create({ function: 'fn', source: { subject: 's' }, batchSize: 10 });
    await publishAll(h.js, 's', range(300));
    await until('some processed', () => h.manager.get(mapping.id).counters.processed >= 50);
    const manager = await h.restartManager();
    assert.equal(manager.get(mapping.id).state, 'Enabled');
    await until('all seen', () => new Set(h.invoker.succeededBodies()).size === 300, 60_000);
    assert.ok(manager.get(mapping.id).counters.processed >= 300 - 10 * 3);
  });

  it('loses nothing when nats-server is killed and restarted mid-stream', async (t) => {
    const h = await harness(t);
    h.invoker.script = async (): Promise<ScriptAnswer> => { await sleep(20); return 'ok'; };
    const mapping = await h.manager.create({ function: 'fn', source: { subject: 'k' }, batchSize: 10, maxConcurrency: 1 });
    await publishAll(h.js, 'k', range(200));
    await until('some processed', () => h.manager.get(mapping.id).counters.processed >= 20);
    await h.nats.kill();
    assert.ok(new Set(h.invoker.succeededBodies()).size < 200, 'the kill must land mid-stream');
    await sleep(300);
    await h.nats.restart();
    await until('publish after restart', async () => { try { await h.js.publish('k', 'after'); return true; } catch { return false; } });
    const want = new Set([...range(200), 'after']);
    await until('all seen after restart', () => [...want].every((b) => new Set(h.invoker.succeededBodies()).has(b)), 60_000);
  });

  it('maps an existing stream with a filter subject from the beginning (TRIM_HORIZON)', async (t) => {
    const h = await harness(t);
    await h.jsm.streams.add({ name: 'EVENTS', subjects: ['events.>'] });
    await publishAll(h.js, 'events.a', ['a1', 'a2']);
    await publishAll(h.js, 'events.b', ['b1']);
    const viaStream = await h.manager.create({ function: 'fn', source: { stream: 'EVENTS', filterSubject: 'events.a' }, startingPosition: 'TRIM_HORIZON' });
    await until('old messages', () => h.manager.get(viaStream.id).counters.processed === 2);
    assert.deepEqual(h.invoker.succeededBodies(), ['a1', 'a2']);
    // A plain subject an existing stream covers uses that stream instead of making one.
    const viaSubject = await h.manager.create({ function: 'fn', source: { subject: 'events.b' } });
    assert.equal(viaSubject.stream, 'EVENTS');
    assert.equal(viaSubject.streamOwned, false);
    assert.equal(viaSubject.filterSubject, 'events.b');
    const info = await h.jsm.consumers.info('EVENTS', consumerName(viaSubject.id));
    assert.equal(info.config.ack_policy, AckPolicy.Explicit);
    assert.equal(info.config.filter_subject, 'events.b');
  });

  it('rejects an unknown function, a missing stream and bad settings', async (t) => {
    const h = await harness(t);
    await assert.rejects(h.manager.create({ function: 'nope', source: { subject: 'x' } }), (e) => isIsletError(e, 'FunctionNotFound'));
    await assert.rejects(h.manager.create({ function: 'fn', source: { stream: 'MISSING' } }), (e) => isIsletError(e, 'InvalidConfig'));
    await assert.rejects(h.manager.create({ function: 'fn', source: { subject: 'x' }, batchSize: 0 }), (e) => isIsletError(e, 'InvalidConfig') && /batchSize/.test(e.message));
    await assert.rejects(h.manager.create({ function: 'fn', source: { subject: 'x' }, filter: { filters: [{ pattern: '{"a":[{"regex":"x"}]}' }] } }), (e) => isIsletError(e, 'InvalidConfig') && /regex/.test(e.message));
    await assert.rejects(h.manager.create({ function: 'fn', source: { subject: 'x' }, startingPosition: 'AT_TIMESTAMP' }), (e) => isIsletError(e, 'InvalidConfig'));
    await assert.rejects(h.manager.create({ function: 'fn', source: { subject: 'x' }, onFailure: 'ftp://x' }), (e) => isIsletError(e, 'InvalidConfig') && /onFailure/.test(e.message));
    assert.deepEqual(h.manager.list(), []);
  });

  it('deletes the consumer and the stream islet created, and updates settings in place', async (t) => {
    const h = await harness(t);
    const mapping = await h.manager.create({ function: 'fn', source: { subject: 'del' } });
    const updated = await h.manager.update(mapping.id, { batchSize: 25, maxConcurrency: 3 });
    assert.equal(updated.batchSize, 25);
    assert.equal(updated.state, 'Enabled');
    assert.equal((await h.jsm.consumers.info(mapping.stream, mapping.consumer)).config.max_ack_pending, 100);
    assert.equal(h.manager.list('fn').length, 1);
    assert.equal(h.manager.list('other').length, 0);
    await h.manager.delete(mapping.id);
    assert.throws(() => h.manager.get(mapping.id), (e) => isIsletError(e, 'NotFound'));
    await assert.rejects(h.jsm.streams.info(mapping.stream));
    assert.equal(await h.store.getDoc('event-sources', mapping.id), undefined);
  });

  it('does not count throttling as a failed attempt', async (t) => {
    const h = await harness(t);
    h.invoker.script = (_batch, call) => call < 2 ? new IsletError('TooManyRequests', 'busy', { headers: { 'Retry-After': '1' } }) : 'ok';
    const mapping = await h.manager.create({ function: 'fn', source: { subject: 't' }, batchSize: 5, maxBatchingWindowMs: 300, maxRetryAttempts: 0 });
    await publishAll(h.js, 't', ['a', 'b']);
    await until('processed after throttling', () => h.manager.get(mapping.id).counters.processed === 2);
    assert.equal(h.manager.get(mapping.id).counters.failed, 0);
    assert.ok(h.invoker.calls.length >= 3);
    assert.ok(h.invoker.calls.every((c) => c.messages.every((m) => m.attempts === 1)));
  });

  it('sends given-up messages to the onFailure destination, and to the dead-letter stream when that fails', async (t) => {
    const delivered: Array<{ destination: unknown; record: EventSourceFailureRecord }> = [];
    let destinationUp = true;
    const h = await harness(t, {
      deliverFailure: async (destination, record) => {
        if (!destinationUp) throw new Error('destination down');
        delivered.push({ destination, record });
      },
    });
    h.invoker.script = () => 'error';
    const mapping = await h.manager.create({
      function: 'fn', source: { subject: 'of' }, batchSize: 1, maxRetryAttempts: 0, onFailure: 'nats:failures',
    });
    await publishAll(h.js, 'of', ['one']);
    await until('destination got it', () => delivered.length === 1);
    assert.equal(delivered[0]!.destination, 'nats:failures');
    assert.equal(delivered[0]!.record.requestContext.condition, 'RetryAttemptsExhausted');
    assert.equal(delivered[0]!.record.batchInfo.mappingId, mapping.id);
    destinationUp = false;
    await publishAll(h.js, 'of', ['two']);
    await until('dead-lettered', () => h.manager.get(mapping.id).counters.failed === 2);
    const dlq = await deadLetters(h);
    assert.deepEqual(dlq.map((r) => r.requestPayload.messages[0]!.body), ['two']);
  });

  it('gives up on messages older than maxRecordAgeSeconds without invoking', async (t) => {
    const h = await harness(t);
    const mapping = await h.manager.create({ function: 'fn', source: { subject: 'age' }, maxRecordAgeSeconds: 1, enabled: false });
    assert.equal(mapping.state, 'Disabled');
    await publishAll(h.js, 'age', ['old']);
    await sleep(1_300);
    await h.manager.setEnabled(mapping.id, true);
    await until('expired', () => h.manager.get(mapping.id).counters.failed === 1);
    assert.equal(h.invoker.calls.length, 0);
    assert.equal((await deadLetters(h))[0]!.requestContext.condition, 'RecordAgeExceeded');
  });

  it('answers EventsUnavailable without NATS and still lists stored mappings', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'islet-esm-nonats-'));
    const store = await FileStore.open(dir);
    t.after(async () => { await store.close(); await rm(dir, { recursive: true, force: true }); });
    const manager = new EventSourceManager({ store, invoker: new ScriptedInvoker(), nats: undefined, log: silentLogger() });
    await manager.start();
    t.after(() => manager.close());
    const now = new Date().toISOString();
    await store.putFunction({
      name: 'fn', config: { memoryMb: 128, timeoutMs: 3000, env: {} }, code: 'x', codeSha256: 'x',
      handlerShape: 'edge', exports: ['queue'], revision: 1, version: '$LATEST', createdAt: now, updatedAt: now,
    });
    await assert.rejects(manager.create({ function: 'fn', source: { subject: 'x' } }), (e) => isIsletError(e, 'EventsUnavailable'));
    assert.deepEqual(manager.list(), []);
  });

  it('starts at a timestamp with AT_TIMESTAMP', async (t) => {
    const h = await harness(t);
    await h.jsm.streams.add({ name: 'TS', subjects: ['ts.>'] });
    await publishAll(h.js, 'ts.x', ['before1', 'before2']);
    await sleep(50);
    const from = new Date().toISOString();
    await sleep(50);
    await publishAll(h.js, 'ts.x', ['after1', 'after2']);
    const mapping = await h.manager.create({ function: 'fn', source: { stream: 'TS' }, startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: from });
    await until('after messages', () => h.manager.get(mapping.id).counters.processed === 2);
    await sleep(200);
    assert.deepEqual(h.invoker.succeededBodies(), ['after1', 'after2']);
  });
});
