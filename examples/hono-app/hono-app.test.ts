import assert from 'node:assert/strict';
import { it } from 'node:test';
import { deployBlueprint, eventually, logLines } from '../helpers.ts';

it('hono-app bundles Hono and serves its routes below the function path', async (t) => {
  const { fnUrl, client } = await deployBlueprint(t, 'hono-app');
  const info = await client.get('hono-app', { includeCode: true });
  assert.match(info.code ?? '', /class Hono/, 'hono is bundled into the module');
  assert.doesNotMatch(info.code ?? '', /^\s*import\s/m, 'the module has no imports left');

  const base = fnUrl('hono-app');
  assert.deepEqual(await (await fetch(`${base}/`)).json(), { app: 'islet + hono', routes: ['/hello/:name', '/echo'] });
  assert.equal(await (await fetch(`${base}/hello/Ada`)).text(), 'Hello, Ada!');
  const echo = await fetch(`${base}/echo?x=1`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
  assert.deepEqual(await echo.json(), { received: { a: 1 }, query: { x: '1' } });
  const missing = await fetch(`${base}/nope`);
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: 'no route for GET /nope' });

  await eventually('the access log line', async () =>
    (await logLines(client, 'hono-app')).some((l) => /^GET \/hello\/Ada -> 200 in \d+ ms$/.test(l)) ? true : undefined);
});
