import assert from 'node:assert/strict';
import { it } from 'node:test';
import { deployBlueprint, eventually, logLines } from '../helpers.ts';

it('hello answers its trigger URL with the greeting from env', async (t) => {
  const { fnUrl, client, changes } = await deployBlueprint(t, 'hello');
  assert.deepEqual(changes.map((c) => `${c.name}:${c.action}`), ['hello:created']);

  const res = await fetch(`${fnUrl('hello')}/?name=Ada`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(await res.text(), 'Hello, Ada!\n');
  assert.equal(await (await fetch(fnUrl('hello'))).text(), 'Hello, world!\n');

  await eventually('the greeting log line', async () => (await logLines(client, 'hello')).includes('greeting Ada') ? true : undefined);
});
