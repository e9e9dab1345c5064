import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startNats } from './helpers/nats.ts';
import { startTestServer, errorCode } from './helpers/server.ts';
import { recordSink, waitFor } from './helpers/async.ts';

const SLOW = 'export async function handler(event) { await new Promise((r) => setTimeout(r, event.ms)); return { i: event.i }; }';

async function put(base: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(base + path, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.ok(res.status === 200 || res.status === 201, `${path}: ${res.status} ${await res.text()}`);
}

async function enqueueRaw(base: string, name: string, event: unknown): Promise<Response> {
  return fetch(`${base}/v1/functions/${name}/invoke`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-invocation-type': 'Event' }, body: JSON.stringify(event) });
}

/** Request ids that reached the destination or the dead-letter list. */
async function settledIds(base: string, sink: Awaited<ReturnType<typeof recordSink>>, name: string): Promise<Set<string>> {
  const ids = new Set((await sink.records(name)).map((r) => r.requestContext.requestId));
  const res = await fetch(`${base}/v1/functions/${name}/dead-letters?limit=1000`).catch(() => undefined);
  if (res?.status === 200) for (const d of (await res.json() as { deadLetters: Array<{ requestId: string }> }).deadLetters) ids.add(d.requestId);
  return ids;
}

describe('async durability', () => {
  it('answers 503 (never 202) while NATS is down, and loses no accepted event when nats-server restarts', async (t) => {
    const nats = await startNats();
    t.after(() => nats.stop());
    const s = await startTestServer(t, { env: { NATS_URL: nats.url } });
    const sink = await recordSink(nats.url);
    t.after(() => sink.close());
    await s.deployOk('steady', { code: SLOW, reservedConcurrency: 2, timeoutMs: 10_000 });
    await put(s.url, '/v1/functions/steady/async-config', { onSuccess: 'nats:rec.steady', retryBackoff: { baseMs: 100, maxMs: 500 } });

    const accepted = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await enqueueRaw(s.url, 'steady', { i, ms: 200 });
      assert.equal(res.status, 202);
      accepted.add((await res.json() as { requestId: string }).requestId);
    }
    await sink.waitForRecords('steady', 2);
    await nats.kill();

    // While NATS is down: 503 EventsUnavailable with the fix in the message, never a 202 for
    // an event that was not stored (a 202 right after the kill is one the client stored before).
    const down = await waitFor(async () => {
      const res = await enqueueRaw(s.url, 'steady', { i: 99, ms: 1 });
      const body = await res.json() as { error?: { code: string; message: string }; requestId?: string };
      if (res.status === 202) { accepted.add(body.requestId!); return undefined; }
      return { status: res.status, body };
    }, 20_000, 'a 503 while NATS is down');
    assert.equal(down.status, 503);
    assert.equal(down.body.error?.code, 'EventsUnavailable');
    assert.match(down.body.error?.message ?? '', /NATS_URL|nats-server/);

    await nats.restart();
    await waitFor(async () => (await enqueueRaw(s.url, 'steady', { i: 100, ms: 1 }).then(async (r) => {
      if (r.status === 202) accepted.add((await r.json() as { requestId: string }).requestId);
      return r.status === 202;
    })), 30_000, 'enqueue accepted again');
    const settled = await waitFor(async () => {
      const ids = await settledIds(s.url, sink, 'steady');
      return [...accepted].every((id) => ids.has(id)) ? ids : undefined;
    }, 90_000, 'every accepted event settled');
    assert.ok(settled.size >= accepted.size);
  });

  it('answers 503 EventsUnavailable with a fix when events are disabled', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('nonats', { code: SLOW });
    const res = await enqueueRaw(s.url, 'nonats', { i: 1, ms: 1 });
    assert.equal(res.status, 503);
    const body = await res.clone().json() as { error: { message: string } };
    assert.equal(await errorCode(res), 'EventsUnavailable');
    assert.match(body.error.message, /NATS_URL/);
    assert.match(body.error.message, /nats-server/);
  });

  it('completes every accepted event after the server process is SIGKILLed mid-run', async (t) => {
    const nats = await startNats();
    t.after(() => nats.stop());
    const sink = await recordSink(nats.url);
    t.after(() => sink.close());
    const dataDir = await mkdtemp(join(tmpdir(), 'islet-crash-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    let child: ChildProcess | undefined;
    t.after(() => { child?.kill('SIGKILL'); });

    const launch = async (): Promise<string> => {
      const port = await freePort();
      child = spawn(process.execPath, ['--no-node-snapshot', 'src/main.ts'], {
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ISLET_DATA_DIR: dataDir, NATS_URL: nats.url, LOG_LEVEL: 'warn', ISLET_ADMIN_TOKEN: '' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 30_000, 'server up');
      return base;
    };

    let base = await launch();
    await put(base, '/v1/functions/crashy', { code: SLOW, reservedConcurrency: 2, timeoutMs: 10_000 });
    await put(base, '/v1/functions/crashy/async-config', { onSuccess: 'nats:rec.crashy' });
    const accepted: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await enqueueRaw(base, 'crashy', { i, ms: 700 });
      assert.equal(res.status, 202);
      accepted.push((await res.json() as { requestId: string }).requestId);
    }
    // Mid-run: some done, two running, the rest queued.
    await sink.waitForRecords('crashy', 2);
    const runningAtKill = await waitFor(async () => {
      const running: string[] = [];
      for (const id of accepted) {
        const st = await (await fetch(`${base}/v1/invocations/${id}`)).json() as { state: string };
        if (st.state === 'running') running.push(id);
      }
      return running.length > 0 ? running : undefined;
    }, 30_000, 'an event running');
    const victim = child!;
    await new Promise<void>((resolve) => { victim.once('exit', () => resolve()); victim.kill('SIGKILL'); });
    const doneBefore = new Set((await sink.records('crashy')).map((r) => r.requestContext.requestId));
    assert.ok(doneBefore.size < accepted.length, 'the kill came before the queue was drained');

    base = await launch();
    // The two cut-off runs come back after ack_wait (30 s); the queued ones at once.
    const ids = await waitFor(async () => {
      const got = new Set((await sink.records('crashy')).map((r) => r.requestContext.requestId));
      return accepted.every((id) => got.has(id)) ? got : undefined;
    }, 120_000, 'every accepted event completed after the restart');
    assert.equal(ids.size, accepted.length);
    // A run cut off by the kill counts as an attempt: its record says 2 invocations.
    const records = await sink.records('crashy');
    for (const id of runningAtKill.filter((x) => !doneBefore.has(x))) {
      const counts = records.filter((r) => r.requestContext.requestId === id).map((r) => r.requestContext.approximateInvokeCount);
      assert.deepEqual(counts, [2], `record of cut-off event ${id}`);
    }
  });
});

describe('async with the embedded nats-server', () => {
  it('runs events on an embedded nats-server and keeps queued events across a server restart', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'islet-embedded-e2e-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const first = await startTestServer(t, { dataDir, env: { ISLET_EMBEDDED_NATS: 'auto' } });
    assert.equal(first.server.events.mode, 'embedded');
    await first.deployOk('emb', { code: SLOW, reservedConcurrency: 0 });
    const res = await enqueueRaw(first.url, 'emb', { i: 1, ms: 1 });
    assert.equal(res.status, 202);
    const { requestId } = await res.json() as { requestId: string };
    await first.close();

    // Same data dir: the embedded server reuses its store, the throttled event is still queued.
    const second = await startTestServer(t, { dataDir, env: { ISLET_EMBEDDED_NATS: 'auto' } });
    await second.deployOk('emb', { code: SLOW, reservedConcurrency: 2 });
    const st = await waitFor(async () => {
      const r = await second.fetch(`/v1/invocations/${requestId}`);
      const body = r.status === 200 ? await r.json() as { state: string; attempts: number } : undefined;
      return body?.state === 'succeeded' ? body : undefined;
    }, 30_000, 'the queued event ran after the restart');
    assert.equal(st.attempts, 1);
  });
});
