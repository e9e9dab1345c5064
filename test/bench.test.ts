// Checks that the benchmark harness runs end to end and reports what it promises. It asserts
// the shape and sanity of the numbers (positive, finite), never how fast anything is.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

function runBench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--no-node-snapshot', join(ROOT, 'bench', 'run.ts'), ...args], { cwd: ROOT, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface Row { metric: string; unit: string; value: number; baseline: number | null; baselineName: string | null; ratio: number | null }
interface Report {
  generatedAt: string; command: string; quick: boolean;
  machine: { cpuModel: string; cores: number; memoryGiB: number; node: string; natsServer: string };
  sections: Record<string, { status: string; rows?: Row[]; reason?: string }>;
}

const positive = (n: unknown, what: string) => assert.ok(typeof n === 'number' && Number.isFinite(n) && n > 0, `${what} is a positive number, got ${n}`);

describe('npm run bench', () => {
  it('runs the warm and cold sections with --quick and reports each figure beside its baseline', { timeout: 180_000 }, async (t) => {
    const out = await mkdtemp(join(tmpdir(), 'islet-bench-test-'));
    t.after(() => rm(out, { recursive: true, force: true }));
    const { code, stdout, stderr } = await runBench(['--quick', '--only=warm,cold', '--json', `--out=${out}`]);
    assert.equal(code, 0, `bench exited ${code}\n${stderr}`);
    const report = JSON.parse(stdout) as Report;

    assert.equal(report.quick, true);
    assert.ok(report.machine.cpuModel.length > 0);
    positive(report.machine.cores, 'cores');
    positive(report.machine.memoryGiB, 'memoryGiB');
    assert.match(report.machine.node, /^v24\./);
    assert.ok(report.machine.natsServer.length > 0);
    assert.deepEqual(Object.keys(report.sections), ['warm', 'cold']);

    for (const [name, section] of Object.entries(report.sections)) {
      assert.equal(section.status, 'ok', `${name}: ${section.reason}`);
      assert.ok(section.rows && section.rows.length > 0, `${name} has rows`);
      for (const row of section.rows) {
        positive(row.value, `${name} ${row.metric} value`);
        positive(row.baseline, `${name} ${row.metric} baseline`);
        positive(row.ratio, `${name} ${row.metric} ratio`);
        assert.ok(row.baselineName, `${name} ${row.metric} names its baseline`);
      }
    }
    const warmMetrics = report.sections.warm!.rows!.map((r) => r.metric);
    assert.deepEqual(warmMetrics, ['warm HTTP throughput', 'warm HTTP latency p50', 'warm HTTP latency p99']);
    assert.ok(report.sections.cold!.rows!.some((r) => r.metric === 'cold start p99 (client)'));

    // The same report on disk, plus the markdown table with the machine line.
    const written = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as Report;
    assert.deepEqual(written.sections, report.sections);
    const md = await readFile(join(out, 'latest.md'), 'utf8');
    assert.match(md, /^- machine: .+ cores, .+ GiB RAM/m);
    assert.match(md, /\| warm \| warm HTTP throughput \| [\d.]+ req\/s \| [\d.]+ req\/s \|/);
  });

  it('rejects an unknown section name with exit code 2', async () => {
    const { code, stderr } = await runBench(['--only=warm,nope']);
    assert.equal(code, 2);
    assert.match(stderr, /unknown section\(s\) nope/);
  });
});
