import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineBatchHandler, defineFetch, defineHandler, defineWorker } from './handler.ts';
import type { BatchEvent, Context } from './handler.ts';

describe('define helpers', () => {
  it('return the handler they are given, so the runtime sees the same shape', async () => {
    const handler = async (event: { n: number }) => event.n * 2;
    assert.equal(defineHandler(handler), handler);
    const worker = { fetch: () => new Response('x') };
    assert.equal(defineWorker(worker), worker);
    const fetch = () => new Response('y');
    assert.equal(defineFetch(fetch).fetch, fetch);

    const batch = defineBatchHandler(async ({ Records }) => ({
      batchItemFailures: Records.filter((r) => r.body === 'bad').map((r) => ({ itemIdentifier: r.messageId })),
    }));
    const record = (messageId: string, body: string) => ({
      messageId, body, subject: 's', headers: {}, timestamp: '', sequence: 1, deliveryCount: 1, eventSource: 'islet:nats' as const, eventSourceARN: 'm',
    });
    const event: BatchEvent = { Records: [record('1', 'ok'), record('2', 'bad')] };
    assert.deepEqual(await batch(event, {} as Context), { batchItemFailures: [{ itemIdentifier: '2' }] });
  });
});
