import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorCode, startTestServer } from './helpers/server.ts';

const HELLO = `export default { fetch: (request, env) => new Response('hello ' + (env.WHO ?? 'nobody')) }`;

describe('admin API (real server)', () => {
  it('refuses code with a syntax error as 400 InvalidCode naming line:column, storing nothing', async (t) => {
    const s = await startTestServer(t);
    const res = await s.deploy('broken', { code: 'export default {\n  fetch() { return 1 +; }\n}' });
    assert.equal(res.status, 400);
    const body = await res.json() as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'InvalidCode');
    assert.match(body.error.message, /\d+:\d+/);
    assert.equal((await s.fetch('/v1/functions/broken')).status, 404);
    assert.deepEqual(await readdir(join(s.dataDir, 'functions')), []);

    const noHandler = await s.deploy('nohandler', { code: 'export const x = 1;' });
    assert.equal(noHandler.status, 400);
    assert.equal(await errorCode(noHandler), 'InvalidCode');
  });

  it('keeps the running version when an update does not compile', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('keep', { code: HELLO });
    assert.equal(await (await fetch(`${s.url}/fn/keep`)).text(), 'hello nobody');
    assert.equal((await s.deploy('keep', { code: 'export default {' })).status, 400);
    assert.equal(await (await fetch(`${s.url}/fn/keep`)).text(), 'hello nobody');
  });

  it('applies a config-only update to the next invocation and keeps the code', async (t) => {
    const s = await startTestServer(t);
    const created = await s.deploy('cfg', { code: HELLO });
    assert.equal(created.status, 201);
    assert.equal(await (await fetch(`${s.url}/fn/cfg`)).text(), 'hello nobody');
    const updated = await s.deploy('cfg', { env: { WHO: 'world' } });
    assert.equal(updated.status, 200);
    assert.equal(((await updated.json()) as { revision: number }).revision, 2);
    assert.equal(await (await fetch(`${s.url}/fn/cfg`)).text(), 'hello world');
    const withCode = await (await s.fetch('/v1/functions/cfg?include=code')).json() as { code: string };
    assert.equal(withCode.code, HELLO);

    assert.equal((await s.fetch('/v1/functions/cfg', { method: 'DELETE' })).status, 204);
    const gone = await fetch(`${s.url}/fn/cfg`);
    assert.equal(gone.status, 404);
    assert.equal(await errorCode(gone), 'FunctionNotFound');
  });

  it('answers 400 InvalidConfig naming the field, 415 for a non-JSON body, 400 for bad JSON', async (t) => {
    const s = await startTestServer(t);
    const config = await s.deploy('f', { code: HELLO, memoryMb: 99999 });
    assert.equal(config.status, 400);
    const body = await config.json() as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'InvalidConfig');
    assert.match(body.error.message, /^memoryMb/);
    const form = await s.fetch('/v1/functions/f', { method: 'PUT', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'code=x' });
    assert.equal(form.status, 415);
    const bad = await s.fetch('/v1/functions/f', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"code": "x"' });
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), 'BadRequest');
  });

  it('needs the bearer token on /v1 when ISLET_ADMIN_TOKEN is set; triggers stay public', async (t) => {
    const s = await startTestServer(t, { env: { ISLET_ADMIN_TOKEN: 'correct-horse' } });
    const none = await fetch(`${s.url}/v1/functions`);
    assert.equal(none.status, 401);
    assert.equal(await errorCode(none), 'Unauthorized');
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    const wrong = await fetch(`${s.url}/v1/functions`, { headers: { authorization: 'Bearer correct-horsf' } });
    assert.equal(wrong.status, 401);
    const right = await fetch(`${s.url}/v1/functions`, { headers: { authorization: 'Bearer correct-horse' } });
    assert.equal(right.status, 200);
    await s.deployOk('pub', { code: HELLO }); // the helper adds the token
    assert.equal((await fetch(`${s.url}/fn/pub`)).status, 200);
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
  });

  it('keeps functions across a restart on the same data dir', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'islet-restart-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const first = await startTestServer(t, { dataDir });
    await first.deployOk('survivor', { code: HELLO, env: { WHO: 'again' }, timeoutMs: 1234 });
    await first.deployOk('survivor', { description: 'second revision' });
    await first.close();

    const second = await startTestServer(t, { dataDir });
    const info = await (await second.fetch('/v1/functions/survivor')).json() as { revision: number; config: { timeoutMs: number; description: string } };
    assert.equal(info.revision, 2);
    assert.equal(info.config.timeoutMs, 1234);
    assert.equal(info.config.description, 'second revision');
    assert.equal(await (await fetch(`${second.url}/fn/survivor`)).text(), 'hello again');
    const health = await (await fetch(`${second.url}/healthz`)).json() as { functions: number };
    assert.equal(health.functions, 1);
  });
});
