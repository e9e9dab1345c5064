import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startNats } from '../../test/helpers/nats.ts';
import { deployBlueprint, eventually, logLines } from '../helpers.ts';
import { parseInterval, publishTicks } from './tick-publisher.ts';

it('scheduled-tick runs its queue handler once per tick from the publisher', async (t) => {
  const nats = await startNats();
  const { client } = await deployBlueprint(t, 'scheduled-tick', { nats });
  const [mapping] = await client.eventSources.list('tick');
  assert.ok(mapping);
  await eventually('the mapping to be enabled', async () => (await client.eventSources.get(mapping.id)).state === 'Enabled' ? true : undefined);

  const sent = await publishTicks({ servers: nats.url, subject: 'ticks.every-minute', intervalMs: 100, count: 3 });
  assert.equal(sent, 3);

  const runs = await eventually('three tick runs', async () => {
    const lines = (await logLines(client, 'tick')).filter((l) => l.startsWith('nightly-cleanup ran for tick'));
    return lines.length >= 3 ? lines : undefined;
  });
  assert.deepEqual(runs.map((l) => /tick (\d+)/.exec(l)?.[1]).sort(), ['1', '2', '3']);
});

it('parses publisher intervals', () => {
  assert.equal(parseInterval('60s'), 60_000);
  assert.equal(parseInterval('5m'), 300_000);
  assert.equal(parseInterval('250ms'), 250);
  assert.throws(() => parseInterval('soon'), /--every takes/);
});
