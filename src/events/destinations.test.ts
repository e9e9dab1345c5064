import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../config.ts';
import { isIsletError } from '../errors.ts';
import type { InvocationResult } from '../invoke/types.ts';
import { silentLogger } from '../observability/logger.ts';
import { startNats } from '../../test/helpers/nats.ts';
import { NatsEvents } from './connection.ts';
import { buildInvocationRecord, deliverRecord, fitRecord, parseDestination } from './destinations.ts';

const report = { requestId: 'r1', functionName: 'f', version: '$LATEST', trigger: 'async', startedAt: '', durationMs: 1, billedDurationMs: 1, memoryLimitMb: 128, memoryUsedMb: 1, outcome: 'success' } as const;

describe('parseDestination', () => {
  it('accepts nats subjects, function names and http(s) URLs', () => {
    assert.deepEqual(parseDestination('nats:orders.done'), { kind: 'nats', subject: 'orders.done' });
    assert.deepEqual(parseDestination('function:audit-log'), { kind: 'function', name: 'audit-log' });
    assert.deepEqual(parseDestination('https://example.com/hook'), { kind: 'http', url: 'https://example.com/hook' });
  });

  it('rejects wildcards, reserved subjects, bad names and other schemes with InvalidConfig', () => {
    for (const bad of ['nats:a.*', 'nats:a.>', 'nats:', 'nats:islet.async.x', 'nats:$JS.API.x', 'function:bad name', 'ftp://x', 'sqs:q']) {
      assert.throws(() => parseDestination(bad), (err) => isIsletError(err, 'InvalidConfig'), bad);
    }
  });
});

describe('buildInvocationRecord', () => {
  it('builds Lambda\'s success record', () => {
    const result: InvocationResult = { requestId: 'r1', outcome: 'success', value: { kind: 'event', json: '{"ok":true}' }, report };
    const record = buildInvocationRecord({ requestId: 'r1', functionName: 'f', condition: 'Success', invokeCount: 1, requestPayload: { a: 1 }, result, now: new Date(0) });
    assert.deepEqual(record, {
      version: '1.0',
      timestamp: '1970-01-01T00:00:00.000Z',
      requestContext: { requestId: 'r1', functionArn: 'arn:islet:function:f:$LATEST', functionName: 'f', condition: 'Success', approximateInvokeCount: 1 },
      requestPayload: { a: 1 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      responsePayload: { ok: true },
    });
  });

  it('builds Lambda\'s failure record with functionError and the error payload', () => {
    const result: InvocationResult = { requestId: 'r1', outcome: 'error', error: { errorType: 'TypeError', errorMessage: 'no', trace: ['at x'] }, report: { ...report, outcome: 'error' } };
    const record = buildInvocationRecord({ requestId: 'r1', functionName: 'f', condition: 'RetriesExhausted', invokeCount: 3, requestPayload: null, result });
    assert.equal(record.responseContext.functionError, 'Unhandled');
    assert.deepEqual(record.responsePayload, { errorMessage: 'no', errorType: 'TypeError', stackTrace: ['at x'] });
    assert.equal(record.requestContext.approximateInvokeCount, 3);
  });

  it('fits a record under a byte cap by replacing the large payloads', () => {
    const record = buildInvocationRecord({ requestId: 'r', functionName: 'f', condition: 'Success', invokeCount: 1, requestPayload: 'x'.repeat(5000), error: undefined });
    const fitted = JSON.parse(fitRecord({ ...record, responsePayload: 'y'.repeat(5000) }, 1000)) as { requestPayload: { truncated: boolean }; responsePayload: { truncated: boolean } };
    assert.equal(fitted.responsePayload.truncated, true);
    assert.equal(fitted.requestPayload.truncated, true);
  });
});

describe('deliverRecord', () => {
  const record = buildInvocationRecord({ requestId: 'r9', functionName: 'f', condition: 'Success', invokeCount: 1, requestPayload: { a: 1 } });

  it('POSTs the record to a webhook, retrying a 5xx', async (t) => {
    const bodies: string[] = [];
    const srv = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => { bodies.push(body); res.statusCode = bodies.length === 1 ? 503 : 204; res.end(); });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    t.after(() => srv.close());
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`;
    const events = await NatsEvents.start(loadConfig({ ISLET_EMBEDDED_NATS: 'off' }), silentLogger());
    await deliverRecord(url, record, { events, log: silentLogger(), maxEventBytes: 1 << 20 }, 'r9.Success');
    assert.equal(bodies.length, 2);
    assert.deepEqual(JSON.parse(bodies[1]!), record);
  });

  it('gives up at once on a 4xx webhook answer', async (t) => {
    let calls = 0;
    const srv = createServer((_req, res) => { calls++; res.statusCode = 404; res.end(); });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    t.after(() => srv.close());
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
    const events = await NatsEvents.start(loadConfig({ ISLET_EMBEDDED_NATS: 'off' }), silentLogger());
    await assert.rejects(deliverRecord(url, record, { events, log: silentLogger(), maxEventBytes: 1 << 20 }, 'r9.Success'), /404/);
    assert.equal(calls, 1);
  });

  it('stores records through JetStream when a stream covers the subject, once per dedup id', async (t) => {
    const nats = await startNats();
    t.after(() => nats.stop());
    const events = await NatsEvents.start(loadConfig({ NATS_URL: nats.url }), silentLogger());
    t.after(() => events.close());
    await events.jsm.streams.add({ name: 'OUT', subjects: ['out.>'] });
    const deps = { events, log: silentLogger(), maxEventBytes: 1 << 20 };
    await deliverRecord('nats:out.done', record, deps, 'r9.Success');
    await deliverRecord('nats:out.done', record, deps, 'r9.Success');
    const info = await events.jsm.streams.info('OUT');
    assert.equal(info.state.messages, 1);
    const stored = await events.jsm.streams.getMessage('OUT', { seq: 1 });
    assert.deepEqual(stored?.json(), record);

    // No stream: a plain publish reaches subscribers.
    const sub = events.nc.subscribe('plain.done', { max: 1 });
    await deliverRecord('nats:plain.done', record, deps, 'x');
    for await (const m of sub) assert.deepEqual(m.json(), record);
  });
});
