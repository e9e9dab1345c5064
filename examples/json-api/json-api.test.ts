import assert from 'node:assert/strict';
import { it } from 'node:test';
import { deployBlueprint } from '../helpers.ts';

it('json-api creates, reads, updates and deletes todos through rawPath/method routing', async (t) => {
  const { fnUrl } = await deployBlueprint(t, 'json-api');
  const base = `${fnUrl('todos')}/todos`;
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(url, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) as Record<string, unknown>, location: res.headers.get('location') };
  };

  const created = await call('POST', base, { title: '  write docs ' });
  assert.equal(created.status, 201);
  assert.deepEqual(created.body, { id: 1, title: 'write docs', done: false });
  assert.equal(created.location, '/todos/1');

  assert.equal((await call('POST', base, { title: '' })).status, 400);
  const invalid = await fetch(base, { method: 'POST', body: '{oops' });
  assert.equal(invalid.status, 400);
  assert.deepEqual(await invalid.json(), { error: 'the body is not valid JSON' });

  assert.deepEqual((await call('PATCH', `${base}/1`, { done: true })).body, { id: 1, title: 'write docs', done: true });
  assert.deepEqual((await call('GET', base)).body, { todos: [{ id: 1, title: 'write docs', done: true }] });
  assert.equal((await call('DELETE', `${base}/1`)).status, 204);
  assert.equal((await call('GET', `${base}/1`)).status, 404);
  assert.equal((await call('PUT', `${fnUrl('todos')}/nothing`)).status, 404);
});
