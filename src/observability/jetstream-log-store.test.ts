import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNats, type TestNats } from '../../test/helpers/nats.ts';
import { JetStreamLogStore, LOG_STREAM } from './jetstream-log-store.ts';
import { isIsletError } from '../errors.ts';
import { silentLogger } from './logger.ts';
import type { LineRecord, LogRecord } from './records.ts';
import { eventually as until } from '../../test/helpers/eventually.ts';

function line(fn: string, requestId: string, message: string): LineRecord {
  return { type: 'line', seq: 0, time: new Date().toISOString(), functionName: fn, requestId, level: 'info', message };
}


async function setup(t: TestContext): Promise<{ nats: TestNats; nc: NatsConnection }> {
  const nats = await startNats();
  t.after(() => nats.stop());
  const nc = await connect({ servers: nats.url });
  t.after(() => nc.close());
  return { nats, nc };
}

const messages = (items: LogRecord[]) => items.map((r) => (r as LineRecord).message);

describe('JetStreamLogStore', () => {
  it('keeps logs across a store re-open and a nats-server restart', async (t) => {
    const { nats, nc } = await setup(t);
    const first = await JetStreamLogStore.open({ nc, log: silentLogger() });
    first.append(line('hello', 'r1', 'before restart'));
    first.append(line('hello', 'r2', 'second'));
    first.append(line('other', 'r3', 'not mine'));
    await first.close();
    await nc.close();
    await nats.kill();
    await nats.restart();

    const nc2 = await connect({ servers: nats.url });
    t.after(() => nc2.close());
    const second = await JetStreamLogStore.open({ nc: nc2, log: silentLogger() });
    t.after(() => second.close());
    const { items } = await second.query('hello');
    assert.deepEqual(messages(items), ['before restart', 'second']);
    assert.ok(items[0]!.seq > 0 && items[0]!.seq < items[1]!.seq);
    assert.deepEqual(messages((await second.query('hello', { requestId: 'r2' })).items), ['second']);
    assert.equal(second.dropped, 0);
  });

  it('creates a nats-server 2.9 compatible stream with size and age limits', async (t) => {
    const { nc } = await setup(t);
    const store = await JetStreamLogStore.open({ nc, log: silentLogger(), maxBytes: 1024 * 1024, maxAgeMs: 60_000 });
    t.after(() => store.close());
    const info = await (await jetstreamManager(nc)).streams.info(LOG_STREAM);
    assert.deepEqual(info.config.subjects, ['islet.logs.>']);
    assert.equal(info.config.max_bytes, 1024 * 1024);
    assert.equal(info.config.max_age, 60_000 * 1_000_000);
  });

  it('applies limit as a tail and pages forward from since', async (t) => {
    const { nc } = await setup(t);
    const store = await JetStreamLogStore.open({ nc, log: silentLogger() });
    t.after(() => store.close());
    const start = Date.now();
    for (let i = 0; i < 30; i++) store.append(line('f', `r${i}`, `m${i}`));
    await until('all records', async () => ((await store.query('f')).items.length === 30 ? true : undefined));
    const tail = await store.query('f', { limit: 3 });
    assert.deepEqual(messages(tail.items), ['m27', 'm28', 'm29']);
    assert.equal(tail.truncated, true);
    const page = await store.query('f', { since: start - 1000, limit: 2 });
    assert.deepEqual(messages(page.items), ['m0', 'm1']);
  });

  it('streams new records of one function to a subscriber', async (t) => {
    const { nc } = await setup(t);
    const store = await JetStreamLogStore.open({ nc, log: silentLogger() });
    t.after(() => store.close());
    const seen: string[] = [];
    const unsubscribe = store.subscribe('f', (r) => seen.push((r as LineRecord).message));
    t.after(unsubscribe);
    // The live consumer starts asynchronously: keep writing until one arrives.
    let i = 0;
    await until('a live record', () => {
      store.append(line('g', 'x', 'other'));
      store.append(line('f', 'x', `live${i++}`));
      return seen.length > 0 ? true : undefined;
    });
    assert.ok(seen.every((m) => m.startsWith('live')));
  });

  it('drops and counts records instead of blocking when its queue is full', async (t) => {
    const nats = await startNats();
    t.after(() => nats.stop());
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    t.after(() => nc.close());
    const store = await JetStreamLogStore.open({ nc, log: silentLogger(), maxPendingRecords: 10, flushIntervalMs: 1_000 });
    t.after(() => store.close());
    for (let i = 0; i < 25; i++) store.append(line('f', 'r', `m${i}`));
    assert.equal(store.dropped, 15);
    assert.equal(store.pendingRecords, 10);
  });

  it('answers EventsUnavailable for a query while NATS is away, and drops rather than blocks', async (t) => {
    const nats = await startNats();
    t.after(() => nats.stop());
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100, timeout: 1_000 });
    t.after(() => nc.close());
    const store = await JetStreamLogStore.open({ nc, log: silentLogger(), maxPendingRecords: 100 });
    t.after(() => store.close());
    await nats.kill();
    await assert.rejects(store.query('f'), (err) => isIsletError(err, 'EventsUnavailable'));
    for (let i = 0; i < 500; i++) store.append(line('f', 'r', `m${i}`));
    assert.ok(store.dropped >= 400, `dropped ${store.dropped}`);
  });
});
