import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromLambdaBatchResult, fromLambdaHttpResult, toLambdaHttpEvent } from './lambda.ts';
import type { BatchPayload, HttpPayload } from './types.ts';

const http = (over: Partial<HttpPayload> = {}): HttpPayload => ({
  kind: 'http', method: 'get', path: '/x', rawQuery: '', headers: [['host', 'api.example.com']], body: null, sourceIp: '10.0.0.1',
  url: 'http://api.example.com/fn/f/x', ...over,
});

describe('Lambda HTTP event', () => {
  it('fills requestContext like a Function URL', () => {
    const event = toLambdaHttpEvent(http(), 'r1', new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
    assert.equal(event.requestContext.http.method, 'GET');
    assert.equal(event.requestContext.domainName, 'api.example.com');
    assert.equal(event.requestContext.domainPrefix, 'api');
    assert.equal(event.requestContext.time, '02/Jan/2026:03:04:05 +0000');
    assert.equal(event.requestContext.timeEpoch, Date.UTC(2026, 0, 2, 3, 4, 5));
    assert.equal(event.body, undefined);
    assert.equal(event.queryStringParameters, undefined);
    assert.equal(event.cookies, undefined);
  });

  it('sends JSON as text and invalid UTF-8 without a content-type as base64', () => {
    const json = toLambdaHttpEvent(http({ headers: [['content-type', 'application/vnd.api+json']], body: Buffer.from('{"a":1}') }), 'r');
    assert.deepEqual([json.body, json.isBase64Encoded], ['{"a":1}', false]);
    const raw = toLambdaHttpEvent(http({ body: new Uint8Array([0xff, 0xfe]) }), 'r');
    assert.deepEqual([raw.body, raw.isBase64Encoded], ['//4=', true]);
  });
});

describe('Lambda HTTP result', () => {
  it('rejects an out-of-range statusCode as a function error', () => {
    const out = fromLambdaHttpResult(JSON.stringify({ statusCode: 42 }));
    assert.ok(!('kind' in out));
    assert.equal(out.errorType, 'Runtime.InvalidResponse');
  });

  it('serialises a non-string body as JSON and lower-cases header names', () => {
    const out = fromLambdaHttpResult(JSON.stringify({ statusCode: 200, headers: { 'X-Count': 3 }, body: { a: 1 } }));
    assert.ok('kind' in out);
    assert.equal(Buffer.from(out.body).toString(), '{"a":1}');
    assert.deepEqual(out.headers[0], ['x-count', '3']);
  });
});

describe('Lambda batch result', () => {
  const batch: BatchPayload = {
    kind: 'batch', source: { mappingId: 'm' },
    messages: ['a', 'b'].map((id, i) => ({ id, subject: 's', body: '', headers: {}, timestamp: '', sequence: i, attempts: 1 })),
  };
  it('fails the whole batch when an itemIdentifier names no message', () => {
    assert.deepEqual(fromLambdaBatchResult(JSON.stringify({ batchItemFailures: [{ itemIdentifier: 'zzz' }] }), batch), [{ id: 'a' }, { id: 'b' }]);
  });
  it('treats an empty list or no reply as full success', () => {
    assert.deepEqual(fromLambdaBatchResult(JSON.stringify({ batchItemFailures: [] }), batch), []);
    assert.deepEqual(fromLambdaBatchResult(undefined, batch), []);
  });
});
