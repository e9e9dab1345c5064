import assert from 'node:assert/strict';
import { it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { startNats } from '../../test/helpers/nats.ts';
import { join } from 'node:path';
import { applyManifest } from '../../src/cli/apply.ts';
import { loadManifest } from '../../src/cli/manifest.ts';
import { deployBlueprint, eventually, EXAMPLES_DIR } from '../helpers.ts';

interface InvocationRecord {
  requestContext: { requestId: string; functionName: string; condition: string; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext: { statusCode: number; functionError?: string };
  responsePayload: Record<string, unknown>;
}

it('async-job sends results to the success destination and errors to the failure destination', async (t) => {
  const nats = await startNats();
  const nc = await connect({ servers: nats.url });
  t.after(() => nc.close());
  const received: Array<{ subject: string; record: InvocationRecord }> = [];
  nc.subscribe('jobs.>', { callback: (_err, msg) => { received.push({ subject: msg.subject, record: msg.json<InvocationRecord>() }); } });
  await nc.flush();

  const { client, changes } = await deployBlueprint(t, 'async-job', { nats });
  assert.deepEqual(changes.map((c) => `${c.kind}:${c.action}`), ['function:created', 'async-config:created']);

  const ok = await client.invoke('job', { jobId: 'a1', items: [1, 2, 3] }, { type: 'Event' });
  assert.equal(ok.status, 202);
  const okId = (ok.payload as { requestId: string }).requestId;
  const bad = await client.invoke('job', { jobId: 'a2', items: ['x'] }, { type: 'Event' });
  assert.equal(bad.status, 202);
  const badId = (bad.payload as { requestId: string }).requestId;

  const success = await eventually('the success record', async () => received.find((r) => r.record.requestContext.requestId === okId));
  assert.equal(success.subject, 'jobs.succeeded');
  assert.equal(success.record.requestContext.condition, 'Success');
  assert.equal(success.record.requestContext.functionName, 'job');
  assert.deepEqual(success.record.requestPayload, { jobId: 'a1', items: [1, 2, 3] });
  assert.deepEqual(success.record.responsePayload, { jobId: 'a1', total: 6, count: 3 });

  const failure = await eventually('the failure record', async () => received.find((r) => r.record.requestContext.requestId === badId));
  assert.equal(failure.subject, 'jobs.failed');
  assert.notEqual(failure.record.requestContext.condition, 'Success');
  assert.equal(failure.record.requestContext.approximateInvokeCount, 1, 'maximumRetryAttempts 0: one attempt');
  assert.equal(failure.record.responsePayload.errorType, 'RangeError');
  assert.match(String(failure.record.responsePayload.errorMessage), /items must be finite numbers/);

  // The second apply of the same manifest changes nothing, async config included.
  const again = await applyManifest(client, await loadManifest(join(EXAMPLES_DIR, 'async-job/islet.json')));
  assert.deepEqual(again.map((c) => `${c.kind}:${c.action}`), ['function:unchanged', 'async-config:unchanged']);
});
