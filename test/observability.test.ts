import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_LOG_BYTES_PER_INVOCATION } from '../src/defaults.ts';
import { JetStreamLogStore, type LineRecord, type LogRecord, type ReportRecord } from '../src/observability/index.ts';
import { startNats } from './helpers/nats.ts';
import { parsePromText, promValue } from './helpers/prom-text.ts';
import { errorCode, startTestServer, type TestServer } from './helpers/server.ts';

const HELLO = `export async function handler(event) { console.log('hello', event.who); console.warn('careful'); return { ok: true } }`;
const FAILS = `export async function handler() { console.error('about to fail'); throw new TypeError('bad input') }`;
const HANGS = `export async function handler() { console.log('waiting forever'); await new Promise(() => {}); }`;
const FLOODS = `export async function handler() { const line = 'x'.repeat(1000); for (let i = 0; i < 5000; i++) console.log(i, line); return 'done' }`;

async function logsOf(s: TestServer, name: string, query = ''): Promise<LogRecord[]> {
  const res = await s.fetch(`/v1/functions/${name}/logs${query}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: LogRecord[] }).items;
}

/** Invokes and returns the request id the server used (X-Request-Id). */
async function invoke(s: TestServer, name: string, event: unknown = {}, headers: Record<string, string> = {}): Promise<{ requestId: string; res: Response }> {
  const res = await s.invoke(name, event, headers);
  await res.arrayBuffer();
  return { requestId: res.headers.get('x-request-id')!, res };
}

function reportOf(items: LogRecord[]): ReportRecord {
  const reports = items.filter((r): r is ReportRecord => r.type === 'report');
  assert.equal(reports.length, 1, `one REPORT in ${JSON.stringify(items.map((r) => r.type))}`);
  return reports[0]!;
}

function assertPlausibleReport(report: ReportRecord, expected: { fn: string; requestId: string; outcome: string; memoryMayBeUnknown?: boolean }): void {
  assert.equal(report.functionName, expected.fn);
  assert.equal(report.requestId, expected.requestId);
  assert.equal(report.outcome, expected.outcome);
  assert.equal(report.version, '$LATEST');
  assert.equal(report.trigger, 'invoke');
  assert.equal(report.memoryLimitMb, 128);
  assert.ok(report.durationMs >= 0, `durationMs ${report.durationMs}`);
  assert.ok(Number.isInteger(report.billedDurationMs) && report.billedDurationMs >= Math.max(1, Math.ceil(report.durationMs)) - 1
    && report.billedDurationMs <= Math.ceil(report.durationMs) + 1, `billed ${report.billedDurationMs} for ${report.durationMs}`);
  // A timed-out isolate is disposed before its heap is read; the runtime then reports 0 (known gap).
  const minMb = expected.memoryMayBeUnknown ? 0 : 1;
  assert.ok(Number.isInteger(report.memoryUsedMb) && report.memoryUsedMb >= minMb && report.memoryUsedMb <= 128, `memoryUsedMb ${report.memoryUsedMb}`);
  assert.ok(!Number.isNaN(Date.parse(report.time)));
}

async function readSse(body: ReadableStream<Uint8Array>, until: (text: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  try {
    while (!until(text)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`stream ended before the expected data; got: ${text.slice(-500)}`);
      text += decoder.decode(value, { stream: true });
    }
    return text;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

describe('observability end to end', () => {
  it('records START, console lines, END and a plausible REPORT; init duration only on the cold start', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('hello', { code: HELLO });
    const cold = await invoke(s, 'hello', { who: 'cold' });
    const warm = await invoke(s, 'hello', { who: 'warm' });
    assert.equal(cold.res.status, 200);

    const coldItems = await logsOf(s, 'hello', `?requestId=${cold.requestId}`);
    assert.deepEqual(coldItems.map((r) => r.type), ['start', 'line', 'line', 'end', 'report']);
    assert.ok(coldItems.every((r) => r.requestId === cold.requestId));
    const [first, second] = coldItems.filter((r): r is LineRecord => r.type === 'line');
    assert.equal(first!.level, 'info');
    assert.match(first!.message, /hello cold/);
    assert.equal(second!.level, 'warn');
    const coldReport = reportOf(coldItems);
    assertPlausibleReport(coldReport, { fn: 'hello', requestId: cold.requestId, outcome: 'success' });
    assert.ok(typeof coldReport.initDurationMs === 'number' && coldReport.initDurationMs > 0);

    const warmReport = reportOf(await logsOf(s, 'hello', `?requestId=${warm.requestId}`));
    assertPlausibleReport(warmReport, { fn: 'hello', requestId: warm.requestId, outcome: 'success' });
    assert.equal(warmReport.initDurationMs, undefined);

    // Without a filter: both invocations, in order.
    const all = await logsOf(s, 'hello');
    assert.deepEqual([...new Set(all.map((r) => r.requestId))], [cold.requestId, warm.requestId]);
    assert.ok(all.every((r, i) => i === 0 || r.seq > all[i - 1]!.seq));
  });

  it('reports error and timeout outcomes', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('fails', { code: FAILS });
    await s.deployOk('hangs', { code: HANGS, timeoutMs: 300 });
    const failed = await invoke(s, 'fails');
    assert.equal(failed.res.headers.get('x-function-error'), 'Unhandled');
    const failedItems = await logsOf(s, 'fails', `?requestId=${failed.requestId}`);
    assertPlausibleReport(reportOf(failedItems), { fn: 'fails', requestId: failed.requestId, outcome: 'error' });
    assert.ok(failedItems.some((r) => r.type === 'line' && r.level === 'error' && r.message === 'about to fail'));

    const hung = await invoke(s, 'hangs');
    const hungReport = reportOf(await logsOf(s, 'hangs', `?requestId=${hung.requestId}`));
    assertPlausibleReport(hungReport, { fn: 'hangs', requestId: hung.requestId, outcome: 'timeout', memoryMayBeUnknown: true });
    assert.ok(hungReport.durationMs >= 250, `a timeout ran its timeoutMs: ${hungReport.durationMs}`);
  });

  it('filters logs by requestId and answers clear errors for unknown functions and bad parameters', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('hello', { code: HELLO });
    const a = await invoke(s, 'hello', { who: 'a' }, { 'x-request-id': 'req-a' });
    await invoke(s, 'hello', { who: 'b' }, { 'x-request-id': 'req-b' });
    assert.equal(a.requestId, 'req-a');
    const items = await logsOf(s, 'hello', '?requestId=req-b');
    assert.ok(items.length >= 4);
    assert.ok(items.every((r) => r.requestId === 'req-b'));
    assert.ok(items.some((r) => r.type === 'line' && /hello b/.test(r.message)));
    assert.deepEqual(await logsOf(s, 'hello', '?requestId=nope'), []);
    assert.equal((await logsOf(s, 'hello', '?limit=2')).length, 2);
    assert.equal((await logsOf(s, 'hello', '?since=1h')).length, items.length * 2);
    assert.deepEqual(await logsOf(s, 'hello', `?until=${Date.now() - 3_600_000}`), []);

    const missing = await s.fetch('/v1/functions/ghost/logs');
    assert.equal(missing.status, 404);
    assert.equal(await errorCode(missing), 'FunctionNotFound');
    const bad = await s.fetch('/v1/functions/hello/logs?limit=zero');
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), 'BadRequest');
  });

  it('follows a function\'s logs as Server-Sent Events, including a new invocation\'s line', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('hello', { code: HELLO });
    await invoke(s, 'hello', { who: 'earlier' });
    const controller = new AbortController();
    t.after(() => controller.abort());
    const res = await s.fetch('/v1/functions/hello/logs?follow=1', { signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    let text = await readSse(res.body!, (x) => x.includes(': following'));
    assert.match(text, /hello earlier/, 'the backlog comes first');

    const live = await invoke(s, 'hello', { who: 'live-one' });
    const hasLiveReport = (x: string) => x.split('\n').some((l) => l.startsWith('data: ') && l.includes('"type":"report"') && l.includes(live.requestId));
    text += await readSse(res.body!, hasLiveReport);
    const events = text.split('\n\n').filter((e) => e.startsWith('data: ') || e.includes('\ndata: '));
    const records = events.map((e) => JSON.parse(e.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as LogRecord);
    const liveRecords = records.filter((r) => r.requestId === live.requestId);
    assert.deepEqual(liveRecords.map((r) => r.type), ['start', 'line', 'line', 'end', 'report']);
    assert.match((liveRecords[1] as LineRecord).message, /hello live-one/);
    assert.ok(events.every((e) => /^id: \d+$/m.test(e)), 'every record carries an SSE id');

    // The client leaves: the server drops its subscription and keeps answering.
    assert.equal(s.server.logs.subscriptions, 1);
    controller.abort();
    const deadline = Date.now() + 20_000;
    while (s.server.logs.subscriptions > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.server.logs.subscriptions, 0, 'the follow stream ended when the client left');
    const after = await invoke(s, 'hello', { who: 'after' });
    assert.equal(after.res.status, 200);
  });

  it('moves the Prometheus counters and gauges after invocations', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('hello', { code: HELLO });
    await s.deployOk('fails', { code: FAILS });
    const scrape = async () => {
      const res = await s.fetch('/metrics');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      return parsePromText(await res.text());
    };
    const before = await scrape();
    assert.equal(promValue(before, 'islet_invocations_total', { function: 'hello' }), 0);
    await invoke(s, 'hello');
    await invoke(s, 'hello');
    await invoke(s, 'fails');
    const res = await s.fetch('/fn/hello/');
    await res.arrayBuffer();
    const after = await scrape();
    assert.equal(promValue(after, 'islet_invocations_total', { function: 'hello', outcome: 'success', trigger: 'invoke' }), 2);
    assert.equal(promValue(after, 'islet_invocations_total', { function: 'hello', trigger: 'http' }), 1);
    assert.equal(promValue(after, 'islet_invocations_total', { function: 'fails', outcome: 'error', trigger: 'invoke' }), 1);
    assert.equal(promValue(after, 'islet_errors_total', { function: 'fails' }), 1);
    assert.equal(promValue(after, 'islet_errors_total', { function: 'hello' }), 0);
    assert.equal(promValue(after, 'islet_invocation_duration_seconds_count', { function: 'hello' }), 3);
    assert.ok(promValue(after, 'islet_cold_starts_total', { function: 'hello' }) >= 1);
    assert.equal(promValue(after, 'islet_init_duration_seconds_count', { function: 'hello' }), promValue(after, 'islet_cold_starts_total', { function: 'hello' }));
    assert.ok(promValue(after, 'islet_warm_isolates') >= 1);
    assert.ok(promValue(after, 'islet_function_warm_isolates', { function: 'hello' }) >= 1);
    assert.ok(promValue(after, 'islet_isolate_heap_bytes') > 0);
    assert.ok(promValue(after, 'process_resident_memory_bytes') > 0);
    assert.ok(!after.some((x) => 'requestId' in x.labels || 'request_id' in x.labels));
  });

  it('caps a function flooding console output with a warning line and stays responsive', async (t) => {
    const s = await startTestServer(t);
    await s.deployOk('floods', { code: FLOODS, timeoutMs: 20_000 });
    await s.deployOk('hello', { code: HELLO });
    const [flood, other] = await Promise.all([
      invoke(s, 'floods', {}, { 'x-log-type': 'Tail' }),
      invoke(s, 'hello', { who: 'bystander' }),
    ]);
    assert.equal(other.res.status, 200);
    assert.equal(flood.res.status, 200);
    const tail = Buffer.from(flood.res.headers.get('x-log-result') ?? '', 'base64');
    assert.ok(tail.byteLength > 0 && tail.byteLength <= 4096, `X-Log-Result carries at most 4 KB (${tail.byteLength})`);

    const items = await logsOf(s, 'floods', `?requestId=${flood.requestId}&limit=10000`);
    const lines = items.filter((r): r is LineRecord => r.type === 'line');
    const bytes = lines.reduce((n, r) => n + Buffer.byteLength(r.message), 0);
    assert.ok(bytes <= DEFAULT_MAX_LOG_BYTES_PER_INVOCATION + 1024, `kept ${bytes} bytes`);
    assert.ok(lines.length < 5000, `${lines.length} lines kept of 5000`);
    const warning = lines.at(-1)!;
    assert.equal(warning.level, 'warn');
    assert.match(warning.message, /dropped/);
    assert.equal(reportOf(items).outcome, 'success');
    const health = await s.fetch('/healthz');
    assert.equal(health.status, 200);
  });

  it('keeps function logs in JetStream across a server restart', async (t) => {
    const nats = await startNats();
    t.after(() => nats.stop());
    const env = { NATS_URL: nats.url };
    const waitForJetStream = async (s: TestServer) => {
      const deadline = Date.now() + 20_000;
      while (!(s.server.logs.current instanceof JetStreamLogStore)) {
        if (Date.now() > deadline) throw new Error('the log store never moved to JetStream');
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const first = await startTestServer(t, { env });
    await waitForJetStream(first);
    await first.deployOk('hello', { code: HELLO });
    const { requestId } = await invoke(first, 'hello', { who: 'persisted' });
    await first.close();

    const second = await startTestServer(t, { env, dataDir: first.dataDir });
    await waitForJetStream(second);
    const items = await logsOf(second, 'hello', `?requestId=${requestId}`);
    assert.deepEqual(items.map((r) => r.type), ['start', 'line', 'line', 'end', 'report']);
    assert.match((items[1] as LineRecord).message, /hello persisted/);
  });
});
