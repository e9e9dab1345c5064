import assert from 'node:assert/strict';
import { it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { startNats } from '../../test/helpers/nats.ts';
import { join } from 'node:path';
import { applyManifest } from '../../src/cli/apply.ts';
import { loadManifest } from '../../src/cli/manifest.ts';
import { deployBlueprint, eventually, EXAMPLES_DIR, logLines } from '../helpers.ts';

it('nats-batch-consumer processes good orders and retries then dead-letters only the bad one', async (t) => {
  const nats = await startNats();
  const nc = await connect({ servers: nats.url });
  t.after(() => nc.close());
  const failed: unknown[] = [];
  nc.subscribe('orders.failed', { callback: (_err, msg) => { failed.push(msg.json()); } });
  await nc.flush();

  const { client, changes } = await deployBlueprint(t, 'nats-batch-consumer', { nats });
  assert.deepEqual(changes.map((c) => `${c.kind}:${c.action}`), ['function:created', 'event-source:created']);
  const [mapping] = await client.eventSources.list('orders');
  assert.ok(mapping);
  await eventually('the mapping to be enabled', async () => (await client.eventSources.get(mapping.id)).state === 'Enabled' ? true : undefined);

  const orders = [
    { orderId: 'o1', amount: 10 }, { orderId: 'o2', amount: 20 }, { orderId: 'bad', amount: -1 },
    { orderId: 'o3', amount: 30 }, { orderId: 'o4', amount: 40 },
  ];
  for (const order of orders) nc.publish('orders.new', JSON.stringify(order));
  await nc.flush();

  const lines = await eventually('four processed orders and two failed attempts of the bad one', async () => {
    const all = await logLines(client, 'orders');
    const processed = all.filter((l) => l.startsWith('processed order'));
    const failures = all.filter((l) => l.startsWith('failed message'));
    return processed.length >= 4 && failures.length >= 2 ? { processed, failures } : undefined;
  });
  assert.deepEqual(lines.processed.map((l) => /order (\w+)/.exec(l)?.[1]).sort(), ['o1', 'o2', 'o3', 'o4'], 'each good order is processed once');
  assert.equal(lines.failures.length, 2, 'the bad order: first attempt + maxRetryAttempts 1');

  await eventually('the failure destination record', async () => failed.length > 0 ? true : undefined);
  assert.match(JSON.stringify(failed[0]), /bad/);
  const after = await client.eventSources.get(mapping.id);
  assert.equal(after.counters.processed, 4);
  assert.equal(after.counters.failed, 1);

  const again = await applyManifest(client, await loadManifest(join(EXAMPLES_DIR, 'nats-batch-consumer/islet.json')));
  assert.deepEqual(again.map((c) => `${c.kind}:${c.action}`), ['function:unchanged', 'event-source:unchanged']);
});
