import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNats } from './nats.ts';

test('startNats gives each test its own JetStream server that survives kill and restart', async (t) => {
  const nats = await startNats();
  t.after(() => nats.stop());
  let nc = await connect({ servers: nats.url });
  let jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'T', subjects: ['t.>'] });
  await jsm.jetstream().publish('t.a', 'x');
  await nc.close();
  await nats.kill();
  await nats.restart();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info('T');
  assert.equal(info.state.messages, 1);
  await nc.close();
});
