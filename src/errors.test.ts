import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ErrorCodes, IsletError } from './errors.ts';

const DOC = new URL('../docs/errors.md', import.meta.url);

describe('error codes', () => {
  it('documents every code with its status in docs/errors.md', async () => {
    const doc = await readFile(DOC, 'utf8');
    const rows = new Map<string, number>();
    for (const match of doc.matchAll(/^\| `([A-Za-z]+)` \| (\d{3}) \|/gm)) rows.set(match[1]!, Number(match[2]));
    for (const [code, { status }] of Object.entries(ErrorCodes)) {
      assert.equal(rows.get(code), status, `docs/errors.md needs a row "| \`${code}\` | ${status} | …"`);
    }
    for (const code of rows.keys()) assert.ok(code in ErrorCodes, `docs/errors.md lists ${code}, which src/errors.ts does not have`);
  });

  it('serialises as {"error":{"code","message"}} with the table status', () => {
    const err = new IsletError('TooManyRequests', 'slow down', { headers: { 'Retry-After': '1' } });
    assert.equal(err.status, 429);
    assert.deepEqual(JSON.parse(JSON.stringify(err)), { error: { code: 'TooManyRequests', message: 'slow down' } });
    assert.deepEqual(err.headers, { 'Retry-After': '1' });
  });
});
