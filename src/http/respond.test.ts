import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIsletError } from '../errors.ts';
import { httpResultResponse } from './respond.ts';

const result = (headers: Array<[string, string]>, body = 'ok') => ({ kind: 'http' as const, status: 200, headers, body: new TextEncoder().encode(body) });

describe('httpResultResponse', () => {
  it('passes a function\'s headers through, trimmed, without framing headers or X-Request-Id', async () => {
    const res = httpResultResponse(result([['Content-Type', ' text/plain '], ['X-Custom', 'a'], ['Content-Length', '99'], ['X-Request-Id', 'spoofed']]));
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(res.headers.get('x-custom'), 'a');
    assert.equal(res.headers.get('content-length'), null);
    assert.equal(res.headers.get('x-request-id'), null);
    assert.equal(await res.text(), 'ok');
  });

  it('keeps every Set-Cookie when a header name repeats', () => {
    const res = httpResultResponse(result([['Set-Cookie', 'a=1'], ['set-cookie', 'b=2'], ['X-A', '1']]));
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(res.headers.get('x-a'), '1');
  });

  it('answers FunctionError for an invalid header name or value', () => {
    assert.throws(() => httpResultResponse(result([['bad name', 'x']])), (err) => isIsletError(err, 'FunctionError'));
    assert.throws(() => httpResultResponse(result([['x-a', 'line\nbreak']])), (err) => isIsletError(err, 'FunctionError'));
  });
});
