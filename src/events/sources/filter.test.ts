import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileFilter, parsePattern } from './filter.ts';
import { subjectCovers } from './subjects.ts';

const msg = (body: unknown, subject = 'orders.eu') => ({ subject, headers: { 'x-kind': ['a', 'b'] }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('event source filters', () => {
  it('passes everything without patterns', () => {
    assert.equal(compileFilter([])(msg('anything')), true);
  });

  it('matches equality lists on the JSON body, given as text or object', () => {
    for (const pattern of ['{"body":{"type":["order","refund"]}}', { body: { type: ['order', 'refund'] } }]) {
      const f = compileFilter([pattern]);
      assert.equal(f(msg({ type: 'order' })), true);
      assert.equal(f(msg({ type: 'refund' })), true);
      assert.equal(f(msg({ type: 'ping' })), false);
      assert.equal(f(msg('not json')), false);
    }
  });

  it('matches prefix, suffix, anything-but, numeric ranges and exists', () => {
    assert.equal(compileFilter([{ body: { sku: [{ prefix: 'A-' }] } }])(msg({ sku: 'A-1' })), true);
    assert.equal(compileFilter([{ body: { sku: [{ prefix: 'A-' }] } }])(msg({ sku: 'B-1' })), false);
    assert.equal(compileFilter([{ body: { f: [{ suffix: '.png' }] } }])(msg({ f: 'x.png' })), true);
    assert.equal(compileFilter([{ body: { s: [{ 'anything-but': ['x', 'y'] }] } }])(msg({ s: 'z' })), true);
    assert.equal(compileFilter([{ body: { s: [{ 'anything-but': 'x' }] } }])(msg({ s: 'x' })), false);
    assert.equal(compileFilter([{ body: { s: [{ 'anything-but': { prefix: 'tmp' } }] } }])(msg({ s: 'tmp1' })), false);
    const range = compileFilter([{ body: { n: [{ numeric: ['>', 0, '<=', 5] }] } }]);
    assert.deepEqual([0, 1, 5, 6, '3'].map((n) => range(msg({ n }))), [false, true, true, false, false]);
    assert.equal(compileFilter([{ body: { id: [{ exists: true }] } }])(msg({ id: 1 })), true);
    assert.equal(compileFilter([{ body: { id: [{ exists: true }] } }])(msg({})), false);
    assert.equal(compileFilter([{ body: { id: [{ exists: false }] } }])(msg({})), true);
  });

  it('ORs patterns, ANDs keys, and matches any element of an array value', () => {
    const f = compileFilter([{ body: { a: [1], b: [2] } }, { subject: ['orders.us'] }]);
    assert.equal(f(msg({ a: 1, b: 2 })), true);
    assert.equal(f(msg({ a: 1, b: 3 })), false);
    assert.equal(f(msg({}, 'orders.us')), true);
    assert.equal(compileFilter([{ body: { tags: ['red'] } }])(msg({ tags: ['blue', 'red'] })), true);
    assert.equal(compileFilter([{ headers: { 'x-kind': ['b'] } }])(msg({})), true);
  });

  it('matches a plain-text body with a string list', () => {
    assert.equal(compileFilter([{ body: ['hello'] }])(msg('hello')), true);
  });

  it('rejects malformed patterns with a reason', () => {
    assert.throws(() => parsePattern('{not json'), /not valid JSON/);
    assert.throws(() => parsePattern({ body: { n: [{ numeric: ['~', 1] }] } }), /numeric/);
    assert.throws(() => parsePattern({ body: { n: [{ regex: 'x' }] } }), /unknown rule "regex"/);
    assert.throws(() => parsePattern({ body: { n: [] } }), /at least one value/);
    assert.throws(() => parsePattern([]), /must be an object/);
  });
});

describe('subjectCovers', () => {
  it('knows which stream subjects capture a mapped subject', () => {
    assert.equal(subjectCovers('orders.>', 'orders.eu'), true);
    assert.equal(subjectCovers('orders.>', 'orders.*'), true);
    assert.equal(subjectCovers('orders.>', 'orders'), false);
    assert.equal(subjectCovers('orders.*', 'orders.eu'), true);
    assert.equal(subjectCovers('orders.*', 'orders.>'), false);
    assert.equal(subjectCovers('orders.eu', 'orders.*'), false);
    assert.equal(subjectCovers('a.b', 'a.b'), true);
  });
});
