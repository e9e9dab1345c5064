import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, startNats } from '../../test/helpers/nats.ts';
import { startTestServer } from '../../test/helpers/server.ts';
import { ISLET_BIN, runIslet, tempProject, waitFor } from './test-helpers.ts';

const HONO_APP = `
import { Hono } from 'hono';
import { z } from 'zod';

const Greeting = z.object({ name: z.string().min(1) });
const app = new Hono();
app.get('/', (c) => c.text('hono says hi'));
app.post('/greet', async (c) => {
  const parsed = Greeting.safeParse(await c.req.json());
  if (!parsed.success) return c.json({ error: 'name is required' }, 400);
  return c.json({ hello: parsed.data.name });
});
export default app;
`;

const LAMBDA_FN = `
import { defineHandler } from '@islet/sdk/handler';

interface Event { name?: string; fail?: boolean }

export const handler = defineHandler<Event, { greeting: string }>(async (event) => {
  console.log('greeting', event.name);
  if (event.fail) throw new RangeError('no greeting today');
  return { greeting: \`\${process.env.GREETING ?? 'hello'} \${event.name}\` };
});
`;

describe('islet CLI against a real server', () => {
  it('deploys a TypeScript entry with npm dependencies and serves it on its trigger URL', async (t) => {
    const srv = await startTestServer(t);
    const dir = await tempProject(t, { 'src/api.ts': HONO_APP });
    const env = { ISLET_URL: srv.url };

    const deployed = await runIslet(['deploy', 'src/api.ts', '--json'], { cwd: dir, env });
    assert.equal(deployed.code, 0, deployed.stderr);
    const info = JSON.parse(deployed.stdout) as { action: string; name: string; url: string };
    assert.equal(info.action, 'created');
    assert.equal(info.name, 'api');
    assert.equal(info.url, `${srv.url}/fn/api/`);
    assert.match(deployed.stderr, /bundling src\/api\.ts/);

    const home = await fetch(info.url);
    assert.equal(await home.text(), 'hono says hi');
    const greet = await fetch(`${srv.url}/fn/api/greet`, { method: 'POST', body: JSON.stringify({ name: 'Ada' }), headers: { 'content-type': 'application/json' } });
    assert.deepEqual(await greet.json(), { hello: 'Ada' });
    const bad = await fetch(`${srv.url}/fn/api/greet`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);

    const again = await runIslet(['deploy', 'src/api.ts'], { cwd: dir, env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^unchanged api\n/);
  });

  it('invokes, lists and removes functions, with settings from flags and an env file', async (t) => {
    const srv = await startTestServer(t);
    const dir = await tempProject(t, { 'greet.ts': LAMBDA_FN, '.env.prod': '# comment\nGREETING="good day"\n' });
    const env = { ISLET_URL: srv.url };

    const deployed = await runIslet(['deploy', 'greet.ts', '--name', 'greeter', '--memory', '64', '--timeout', '2000', '--env-file', '.env.prod', '--env', 'EXTRA=1'], { cwd: dir, env });
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.equal(deployed.stdout, `created greeter\n${srv.url}/fn/greeter/\n`);

    const invoked = await runIslet(['invoke', 'greeter', '--data', '{"name":"Ada"}', '--log-tail'], { env });
    assert.equal(invoked.code, 0, invoked.stderr);
    assert.deepEqual(JSON.parse(invoked.stdout), { greeting: 'good day Ada' });
    assert.match(invoked.stderr, /greeting Ada/);

    const failed = await runIslet(['invoke', 'greeter', '--data', '{"name":"x","fail":true}'], { env });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /function error \(Unhandled\): RangeError: no greeting today/);

    const eventFile = join(dir, 'event.json');
    await writeFile(eventFile, '{"name":"File"}');
    const fromFile = await runIslet(['invoke', 'greeter', '--file', eventFile, '--json'], { env });
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.deepEqual((JSON.parse(fromFile.stdout) as { payload: unknown }).payload, { greeting: 'good day File' });

    const listed = await runIslet(['ls', '--json'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    const { functions } = JSON.parse(listed.stdout) as { functions: Array<{ name: string; config: { memoryMb: number; timeoutMs: number; env: Record<string, string> } }> };
    assert.deepEqual(functions.map((f) => f.name), ['greeter']);
    assert.equal(functions[0]!.config.memoryMb, 64);
    assert.equal(functions[0]!.config.timeoutMs, 2000);
    assert.deepEqual(functions[0]!.config.env, { GREETING: 'good day', EXTRA: '1' });
    const table = await runIslet(['ls'], { env });
    assert.match(table.stdout, /^NAME\s+SHAPE.*\ngreeter\s+lambda\s+64MB\s+2000ms/);

    const removed = await runIslet(['rm', 'greeter'], { env });
    assert.equal(removed.code, 0, removed.stderr);
    const gone = await runIslet(['invoke', 'greeter'], { env });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /FunctionNotFound/);
    assert.deepEqual(JSON.parse((await runIslet(['ls', '--json'], { env })).stdout), { functions: [] });
  });

  it('prints a function\'s logs', async (t) => {
    const srv = await startTestServer(t);
    const dir = await tempProject(t, { 'greet.ts': LAMBDA_FN });
    const env = { ISLET_URL: srv.url };
    assert.equal((await runIslet(['deploy', 'greet.ts'], { cwd: dir, env })).code, 0);
    assert.equal((await runIslet(['invoke', 'greet', '--data', '{"name":"Logged"}'], { env })).code, 0);
    const logs = await waitFor('the console line in islet logs', async () => {
      const result = await runIslet(['logs', 'greet'], { env });
      assert.equal(result.code, 0, result.stderr);
      return /greeting Logged/.test(result.stdout) ? result.stdout : undefined;
    });
    assert.match(logs, /INFO\s+greeting Logged/);
    assert.match(logs, /REPORT Duration: [\d.]+ ms/);
  });

  it('applies a manifest idempotently: the second apply changes nothing', async (t) => {
    const srv = await startTestServer(t);
    const manifest = {
      functions: {
        api: { entry: 'src/api.ts', memoryMb: 96, routes: ['/', '/greet'] },
        greet: { entry: 'src/greet.ts', env: { GREETING: 'hey' }, timeoutMs: 1500 },
      },
    };
    const dir = await tempProject(t, { 'src/api.ts': HONO_APP, 'src/greet.ts': LAMBDA_FN, 'islet.json': JSON.stringify(manifest, null, 2) });
    const env = { ISLET_URL: srv.url };

    const first = await runIslet(['deploy', '--json'], { cwd: dir, env });
    assert.equal(first.code, 0, first.stderr);
    const changes = (out: string) => (JSON.parse(out) as { changes: Array<{ name: string; action: string; changed?: string[] }> }).changes
      .map((c) => `${c.name}:${c.action}${c.changed ? `:${c.changed.join('+')}` : ''}`);
    assert.deepEqual(changes(first.stdout), ['api:created', 'greet:created']);

    const second = await runIslet(['deploy', 'islet.json', '--json'], { cwd: dir, env });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(changes(second.stdout), ['api:unchanged', 'greet:unchanged']);
    const revisions = await (await fetch(`${srv.url}/v1/functions`)).json() as { functions: Array<{ revision: number }> };
    assert.deepEqual(revisions.functions.map((f) => f.revision), [1, 1]);

    manifest.functions.greet.env.GREETING = 'howdy';
    await writeFile(join(dir, 'islet.json'), JSON.stringify(manifest));
    await writeFile(join(dir, 'src/api.ts'), HONO_APP.replace('hono says hi', 'hono says hello'));
    const third = await runIslet(['deploy', 'islet.json'], { cwd: dir, env });
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stdout, /^updated\s+function api \[code\]/m);
    assert.match(third.stdout, /^updated\s+function greet \[env\]/m);
    assert.equal(await (await fetch(`${srv.url}/fn/api/`)).text(), 'hono says hello');
  });

  it('rejects an invalid manifest with the field named, as a usage error', async (t) => {
    const dir = await tempProject(t, { 'islet.yaml': 'functions:\n  api:\n    entry: a.ts\n    memoryMb: 1\n    timeout: 5\n' });
    const result = await runIslet(['deploy', 'islet.yaml'], { cwd: dir, env: { ISLET_URL: 'http://127.0.0.1:9' } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /islet\.yaml: invalid manifest/);
    assert.match(result.stderr, /functions\.api\.memoryMb: Too small/i);
    assert.match(result.stderr, /functions\.api: Unrecognized key: "timeout"/i);
  });

  it('prints bundling errors with file:line and exits 1', async (t) => {
    const dir = await tempProject(t, { 'broken.ts': 'export default {\n  fetch() { return new Response(1 +) },\n};\n' });
    const result = await runIslet(['deploy', 'broken.ts'], { cwd: dir, env: { ISLET_URL: 'http://127.0.0.1:9' } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /broken\.ts:2:\d+: Unexpected/);
  });

  it('exits 3 naming the URL when the server is unreachable, and 3 with a token hint on 401', async (t) => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const down = await runIslet(['ls'], { env: { ISLET_URL: url } });
    assert.equal(down.code, 3);
    assert.match(down.stderr, new RegExp(`cannot reach islet at ${url.replace(/[.]/g, '\\.')}`));

    const srv = await startTestServer(t, { env: { ISLET_ADMIN_TOKEN: 'cli-test-token' } });
    const noToken = await runIslet(['ls'], { env: { ISLET_URL: srv.url } });
    assert.equal(noToken.code, 3);
    assert.match(noToken.stderr, /unauthorized.*set ISLET_ADMIN_TOKEN or pass --token/);
    const withToken = await runIslet(['ls', '--url', srv.url, '--token', 'cli-test-token'], {});
    assert.equal(withToken.code, 0, withToken.stderr);
  });

  it('exits 2 on usage errors', async () => {
    const cases: string[][] = [[], ['frobnicate'], ['invoke'], ['invoke', 'f', '--data', '{nope'], ['deploy', 'a.ts', '--memory', 'lots'], ['ls', '--bogus'], ['deploy', 'a.ts', '--env', 'NOEQUALS']];
    for (const args of cases) {
      const result = await runIslet(args, { env: { ISLET_URL: 'http://127.0.0.1:9' } });
      assert.equal(result.code, 2, `islet ${args.join(' ')} → ${result.code}: ${result.stderr}`);
      assert.ok(result.stderr.length > 0, `islet ${args.join(' ')} printed nothing on stderr`);
    }
  });

  it('copies a blueprint with islet init, without its test', async (t) => {
    const dir = await tempProject(t, {});
    const list = await runIslet(['init'], { cwd: dir });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /hello/);
    const created = await runIslet(['init', 'hello', 'my-app'], { cwd: dir });
    assert.equal(created.code, 0, created.stderr);
    const readme = await readFile(join(dir, 'my-app/README.md'), 'utf8');
    assert.match(readme, /hello/i);
    await assert.rejects(readFile(join(dir, 'my-app/hello.test.ts')), { code: 'ENOENT' });
    const again = await runIslet(['init', 'hello', 'my-app'], { cwd: dir });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not empty/);
  });

  it('islet dev serves the entry and redeploys it when the file changes', async (t) => {
    const dir = await tempProject(t, { 'worker.ts': 'export default { fetch: () => new Response("version one") };\n' });
    const child = spawn(process.execPath, [ISLET_BIN, 'dev', 'worker.ts', '--temp', '--name', 'w'], {
      cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ISLET_EMBEDDED_NATS: 'off', NATS_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

    const url = await waitFor(`islet dev to print its URL (stderr: ${stderr})`, async () => /  w: (http:\S+)/.exec(stdout)?.[1], 60_000);
    assert.equal(await (await fetch(url)).text(), 'version one');

    await writeFile(join(dir, 'worker.ts'), 'export default { fetch: () => new Response("version two") };\n');
    await waitFor('the redeployed worker', async () => (await (await fetch(url)).text()) === 'version two' ? true : undefined, 30_000);

    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
  });

  it('follows logs with -f until interrupted', async (t) => {
    const srv = await startTestServer(t);
    const dir = await tempProject(t, { 'greet.ts': LAMBDA_FN });
    const env = { ISLET_URL: srv.url };
    assert.equal((await runIslet(['deploy', 'greet.ts'], { cwd: dir, env })).code, 0);
    const child = spawn(process.execPath, [ISLET_BIN, 'logs', 'greet', '-f'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    // The follower may connect after an invocation: invoke until a line shows up.
    await waitFor('a followed log line', async () => {
      if (/INFO\s+greeting Followed/.test(stdout)) return true;
      await runIslet(['invoke', 'greet', '--data', '{"name":"Followed"}'], { env });
      return /INFO\s+greeting Followed/.test(stdout) ? true : undefined;
    }, 30_000);
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  });

  it('manages async config and event sources, and applies a manifest with both idempotently', async (t) => {
    const nats = await startNats();
    const srv = await startTestServer(t, { env: { NATS_URL: nats.url } }).catch(async (err: unknown) => { await nats.stop(); throw err; });
    // after-hooks run in registration order: islet closes before its nats-server stops.
    t.after(() => nats.stop());
    const manifest = {
      functions: {
        worker: {
          entry: 'worker.ts',
          async: { maxRetryAttempts: 1, onFailure: 'nats:work.failed' },
          eventSources: [{ source: { subject: 'work.items' }, batchSize: 5 }],
        },
      },
    };
    const dir = await tempProject(t, {
      'worker.ts': 'export default { async queue(batch) { batch.ackAll() }, fetch: () => new Response("ok") };\n',
      'islet.yaml': JSON.stringify(manifest),
    });
    const env = { ISLET_URL: srv.url };
    const actions = (out: string) => (JSON.parse(out) as { changes: Array<{ kind: string; action: string }> }).changes.map((c) => `${c.kind}:${c.action}`);

    const first = await runIslet(['deploy', '--json'], { cwd: dir, env });
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(actions(first.stdout), ['function:created', 'async-config:created', 'event-source:created']);
    const second = await runIslet(['deploy', '--json'], { cwd: dir, env });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(actions(second.stdout), ['function:unchanged', 'async-config:unchanged', 'event-source:unchanged']);

    const shown = await runIslet(['async-config', 'worker', '--json'], { env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal((JSON.parse(shown.stdout) as { onFailure: string }).onFailure, 'nats:work.failed');
    const set = await runIslet(['async-config', 'worker', '--set', '{"maxRetryAttempts":0}', '--json'], { env });
    assert.equal(set.code, 0, set.stderr);
    assert.equal((JSON.parse(set.stdout) as { maxRetryAttempts: number }).maxRetryAttempts, 0);
    const bad = await runIslet(['async-config', 'worker', '--set', '{"onFailure":"smtp:x"}'], { env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /InvalidConfig/);

    const listed = await runIslet(['event-sources', 'ls', '--json'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    const [mapping] = (JSON.parse(listed.stdout) as { eventSources: Array<{ id: string; function: string; batchSize: number }> }).eventSources;
    assert.equal(mapping?.function, 'worker');
    assert.equal(mapping?.batchSize, 5);
    const disabled = await runIslet(['event-sources', 'disable', mapping.id], { env });
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /Disabl/);
    assert.equal((await runIslet(['event-sources', 'enable', mapping.id], { env })).code, 0);

    const created = await runIslet(['event-sources', 'create', 'worker', '--subject', 'work.other', '--batch-size', '2', '--json'], { env });
    assert.equal(created.code, 0, created.stderr);
    const otherId = (JSON.parse(created.stdout) as { id: string }).id;
    // The manifest owns the function's mappings: the extra one is deleted on the next apply.
    const third = await runIslet(['deploy', '--json'], { cwd: dir, env });
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(actions(third.stdout), ['function:unchanged', 'async-config:updated', 'event-source:unchanged', 'event-source:deleted']);
    const ids = (JSON.parse((await runIslet(['event-sources', 'ls', '--json'], { env })).stdout) as { eventSources: Array<{ id: string }> }).eventSources.map((m) => m.id);
    assert.deepEqual(ids, [mapping.id]);
    assert.ok(!ids.includes(otherId));

    const removed = await runIslet(['event-sources', 'rm', mapping.id], { env });
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual((JSON.parse((await runIslet(['event-sources', 'ls', '--json'], { env })).stdout) as { eventSources: unknown[] }).eventSources, []);
  });

  it('shows an async invocation\'s status, lists its dead letter and redrives it', async (t) => {
    const nats = await startNats();
    const srv = await startTestServer(t, { env: { NATS_URL: nats.url } }).catch(async (err: unknown) => { await nats.stop(); throw err; });
    t.after(() => nats.stop());
    const dir = await tempProject(t, { 'fails.ts': 'export async function handler() { throw new Error(\'always\') }\n' });
    const env = { ISLET_URL: srv.url };
    assert.equal((await runIslet(['deploy', 'fails.ts'], { cwd: dir, env })).code, 0);
    assert.equal((await runIslet(['async-config', 'fails', '--set', '{"maxRetryAttempts":0}'], { env })).code, 0);
    const queued = await runIslet(['invoke', 'fails', '--async', '--data', '{"n":1}'], { env });
    assert.equal(queued.code, 0, queued.stderr);
    const requestId = /^queued (\S+)$/m.exec(queued.stdout)?.[1];
    assert.ok(requestId, queued.stdout);

    const status = await waitFor('the event to be dead-lettered', async () => {
      const shown = await runIslet(['status', requestId, '--json'], { env });
      const parsed = JSON.parse(shown.stdout) as { state: string; attempts: number; lastError?: string };
      return parsed.state === 'dead-lettered' ? parsed : undefined;
    }, 60_000);
    assert.equal(status.attempts, 1);
    assert.match(status.lastError ?? '', /always/);

    const listed = await runIslet(['dead-letters', 'fails'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(requestId));
    const redriven = await runIslet(['dead-letters', 'fails', '--redrive', '--json'], { env });
    assert.equal(redriven.code, 0, redriven.stderr);
    assert.equal((JSON.parse(redriven.stdout) as { redriven: number }).redriven, 1);

    const unknown = await runIslet(['status', 'no-such-request'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /NotFound/);
  });
});
