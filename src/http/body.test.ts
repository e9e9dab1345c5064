import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { request as httpRequest } from 'node:http';
import { describe, it, type TestContext } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { isIsletError } from '../errors.ts';
import { readBody, readJsonBody, requestHeader } from './body.ts';

const MAX_BYTES = 1024;

/** A real @hono/node-server app whose routes use the Node fast paths of body.ts. */
async function start(t: TestContext): Promise<string> {
  const app = new Hono();
  app.onError((err) => new Response(isIsletError(err) ? err.code : 'other', { status: isIsletError(err, 'PayloadTooLarge') ? 413 : 500 }));
  app.post('/raw', async (c) => {
    const body = await readBody(c, MAX_BYTES);
    return c.json({ bytes: body === null ? null : Buffer.from(body).toString('utf8'), hdr: requestHeader(c, 'x-multi') ?? null });
  });
  app.post('/json', async (c) => c.json((await readJsonBody(c, MAX_BYTES))?.value ?? 'empty'));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function chunked(parts: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      const next = parts.shift();
      if (next === undefined) controller.close();
      else { controller.enqueue(new TextEncoder().encode(next)); await new Promise((r) => setTimeout(r, 5)); }
    },
  });
}

describe('body reading on Node', () => {
  it('reads a chunked body that arrives in several pieces, and joins repeated headers', async (t) => {
    const url = await start(t);
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(`${url}/raw`, { method: 'POST', headers: { 'x-multi': ['a', 'b'] } }, (r) => {
        let text = '';
        r.on('data', (d: Buffer) => { text += d.toString(); });
        r.on('end', () => resolve({ status: r.statusCode!, text }));
      });
      req.on('error', reject);
      req.write('hello ');
      setTimeout(() => { req.write('chunked '); req.end('world'); }, 10);
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { bytes: 'hello chunked world', hdr: 'a, b' });
  });

  it('gives null for an empty body and parses a JSON one', async (t) => {
    const url = await start(t);
    assert.deepEqual(await (await fetch(`${url}/raw`, { method: 'POST' })).json(), { bytes: null, hdr: null });
    assert.deepEqual(await (await fetch(`${url}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })).json(), { a: 1 });
  });

  it('answers 413 for a chunked body over the cap and closes the connection', async (t) => {
    const url = await start(t);
    const res = await fetch(`${url}/raw`, { method: 'POST', body: chunked(['x'.repeat(600), 'y'.repeat(600), 'z'.repeat(600)]), duplex: 'half' } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('connection'), 'close');
    assert.equal(await res.text(), 'PayloadTooLarge');
  });
});
