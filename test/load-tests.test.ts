// k6 itself is not a dependency (and is not built here), so the scripts are checked three ways:
// type-checked against @types/k6 with load-tests/tsconfig.json; their shape (what `k6 run`
// needs); and their setup → a few iterations → teardown run under Node with a small k6 shim
// (test/helpers/k6-local) against a real islet with a real nats-server. The shim runs
// iterations one after another: executors, rates and thresholds are k6's and are not exercised.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startNats } from './helpers/nats.ts';
import { startTestServer } from './helpers/server.ts';

const ROOT = join(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const SCRIPTS = ['warm-http.ts', 'cold-start.ts', 'mixed.ts', 'async-enqueue.ts', 'event-source.ts', 'ramp-to-throttle.ts'];
const run = promisify(execFile);

async function tsc(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [TSC, ...args], { cwd: ROOT, timeout: 120_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('load-tests', () => {
  it('type-checks every k6 script against @types/k6 with no errors', async () => {
    const files = await tsc('-p', 'load-tests', '--listFilesOnly');
    assert.equal(files.code, 0, files.output);
    for (const script of SCRIPTS) assert.ok(files.output.includes(join('load-tests', script)), `tsconfig covers ${script}`);
    assert.ok(files.output.includes(join('@types', 'k6')), 'checked against @types/k6');

    const checked = await tsc('-p', 'load-tests');
    assert.equal(checked.code, 0, `tsc -p load-tests:\n${checked.output}`);
    assert.equal(checked.output.trim(), '');
  });

  for (const script of SCRIPTS) {
    it(`${script} exports options with thresholds, a default function and reads the shared env`, () => {
      const text = readFileSync(join(ROOT, 'load-tests', script), 'utf8');
      assert.match(text, /^export const options: Options = \{/m);
      assert.match(text, /thresholds: \{/);
      assert.match(text, /^export default function/m);
      assert.match(text, /from '\.\/lib\/env\.ts'/);
      assert.match(text, /^\/\/ .*\n\/\/ +k6 run /m, 'a header comment with the k6 run command');
    });
  }

  it('documents every script in load-tests/README.md', () => {
    const readme = readFileSync(join(ROOT, 'load-tests', 'README.md'), 'utf8');
    for (const script of SCRIPTS) assert.match(readme, new RegExp(`k6 run [^\\n]*load-tests/${script.replace('.', '\\.')}`), `README runs ${script}`);
    for (const name of ['ISLET_URL', 'ISLET_ADMIN_TOKEN', 'RATE', 'DURATION']) assert.ok(readme.includes(name), `README explains ${name}`);
  });
});

interface ShimRun {
  checks: Record<string, { passes: number; fails: number }>;
  metrics: Record<string, number[]>;
  requests: Array<{ method: string; url: string; status: number }>;
  options: { thresholds?: Record<string, string[]> };
}

/** Runs one script with the k6 shim in a child process (its HTTP blocks, like k6's). */
async function runScript(script: string, iterations: number, env: Record<string, string>): Promise<ShimRun> {
  try {
    const { stdout } = await run(process.execPath, ['--no-node-snapshot', join(ROOT, 'test', 'helpers', 'k6-local', 'run.ts'), join(ROOT, 'load-tests', script), String(iterations)], {
      cwd: ROOT, timeout: 120_000, env: { ...process.env, ...env }, maxBuffer: 8 * 1024 * 1024,
    });
    return JSON.parse(stdout) as ShimRun;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${script} failed: ${e.stderr?.slice(-2_000) ?? e.message}`);
  }
}

function assertChecksPassed(result: ShimRun, atLeast: number): void {
  const entries = Object.entries(result.checks);
  assert.ok(entries.length > 0, 'the script made checks');
  for (const [name, { passes, fails }] of entries) {
    assert.equal(fails, 0, `check "${name}" failed ${fails} times`);
    assert.ok(passes >= atLeast, `check "${name}" passed ${passes} times, expected >= ${atLeast}`);
  }
}

describe('load-test scripts against a real islet (k6 shim)', { timeout: 300_000 }, () => {
  it('run setup, iterations and teardown with every check passing and leave no functions behind', async (t) => {
    const nats = await startNats();
    t.after(() => nats.stop());
    const islet = await startTestServer(t, { env: { NATS_URL: nats.url } });
    const env = { ISLET_URL: islet.url, RATE: '5', DURATION: '1s', DRAIN_S: '30', COLD_FUNCTIONS: '3' };

    for (const script of ['warm-http.ts', 'mixed.ts', 'ramp-to-throttle.ts', 'async-enqueue.ts']) {
      const result = await runScript(script, 4, env);
      assertChecksPassed(result, 4);
      assert.ok(result.options.thresholds && Object.keys(result.options.thresholds).length > 0, `${script} has thresholds`);
    }

    const cold = await runScript('cold-start.ts', 3, env);
    assertChecksPassed(cold, 3);
    assert.equal(cold.metrics.cold_start_duration?.length, 3);
    const coldTargets = cold.requests.filter((r) => r.method === 'GET' && /\/fn\/k6-cold-/.test(r.url)).map((r) => r.url);
    assert.equal(new Set(coldTargets).size, 3, 'each cold function was hit exactly once');

    // Events published by the publisher's onSuccess destination come out of the mapping.
    const events = await runScript('event-source.ts', 5, env);
    assertChecksPassed(events, 5);
    assert.deepEqual(events.metrics.event_source_messages_processed, [5]);
    assert.ok((events.metrics.event_source_messages_per_second?.[0] ?? 0) > 0);

    const list = await (await islet.fetch('/v1/functions')).json() as { functions?: Array<{ name: string }> };
    assert.deepEqual((list.functions ?? []).map((f) => f.name).filter((n) => n.startsWith('k6-')), []);
    const sources = await (await islet.fetch('/v1/event-sources')).json() as { eventSources: unknown[] };
    assert.deepEqual(sources.eventSources, []);
  });
});
