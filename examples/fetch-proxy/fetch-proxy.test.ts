import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { it } from 'node:test';
import { deployBlueprint } from '../helpers.ts';

it('fetch-proxy relays method, path, query and body to the upstream and returns its answer', async (t) => {
  const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
  const upstream = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(req.url?.startsWith('/hooks/missing') ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, got: body }));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
  const { port } = upstream.address() as { port: number };

  const { fnUrl, client } = await deployBlueprint(t, 'fetch-proxy');
  // Point the relay at this test's upstream (a settings-only update keeps the code).
  await client.deploy('relay', { env: { UPSTREAM_URL: `http://127.0.0.1:${port}/hooks`, RELAY_TOKEN: 'test-token' } });

  const denied = await fetch(`${fnUrl('relay')}/github`, { method: 'POST', body: '{}' });
  assert.equal(denied.status, 401);
  assert.equal(seen.length, 0);

  const res = await fetch(`${fnUrl('relay')}/github?delivery=7`, {
    method: 'POST',
    body: '{"action":"opened"}',
    headers: { 'content-type': 'application/json', 'x-relay-token': 'test-token', 'x-github-event': 'issues', cookie: 'secret=1' },
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true, got: '{"action":"opened"}' });
  assert.equal(seen.length, 1);
  const [hit] = seen;
  assert.equal(hit!.method, 'POST');
  assert.equal(hit!.url, '/hooks/github?delivery=7');
  assert.equal(hit!.headers['x-relayed-by'], 'islet');
  assert.equal(hit!.headers['x-github-event'], 'issues');
  assert.equal(hit!.headers.cookie, undefined, 'cookies are not relayed');

  const missing = await fetch(`${fnUrl('relay')}/missing`, { headers: { 'x-relay-token': 'test-token' } });
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('x-upstream-status'), '404');

  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  const down = await fetch(`${fnUrl('relay')}/github`, { method: 'POST', body: '{}', headers: { 'x-relay-token': 'test-token' } });
  assert.equal(down.status, 502);
  assert.deepEqual(await down.json(), { error: 'upstream unreachable' });
});
