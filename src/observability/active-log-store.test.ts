import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { startNats } from '../../test/helpers/nats.ts';
import { ActiveLogStore, useJetStreamLogsWhenConnected } from './active-log-store.ts';
import { JetStreamLogStore } from './jetstream-log-store.ts';
import { silentLogger } from './logger.ts';
import { MemoryLogStore } from './memory-log-store.ts';
import type { LineRecord } from './records.ts';
import { eventually as until } from '../../test/helpers/eventually.ts';

function line(message: string): LineRecord {
  return { type: 'line', seq: 0, time: new Date().toISOString(), functionName: 'f', requestId: 'r', level: 'info', message };
}


describe('ActiveLogStore', () => {
  it('moves to JetStream once NATS connects, keeping live subscribers', async (t) => {
    const nats = await startNats();
    t.after(() => nats.stop());
    const nc = await connect({ servers: nats.url });
    t.after(() => nc.close());
    const store = new ActiveLogStore(new MemoryLogStore());
    t.after(() => store.close());
    const seen: string[] = [];
    store.subscribe('f', (r) => seen.push((r as LineRecord).message));
    store.append(line('in memory'));
    assert.deepEqual(seen, ['in memory']);

    // A stand-in for src/events NatsEvents: connected already, so the listener runs at once.
    const stop = useJetStreamLogsWhenConnected(store, { nc, onConnect: (l) => { queueMicrotask(l); return () => {}; } }, { log: silentLogger() });
    t.after(stop);
    await until('the switch to JetStream', () => store.current instanceof JetStreamLogStore);
    let i = 0;
    await until('a live record from JetStream', () => {
      store.append(line(`in jetstream ${i++}`));
      return seen.length > 1;
    });
    assert.match(seen[1]!, /^in jetstream/);
    const { items } = await store.query('f');
    assert.ok(items.length > 0 && items.every((r) => (r as LineRecord).message.startsWith('in jetstream')));
  });
});
