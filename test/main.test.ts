import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-node-snapshot', MAIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdout.on('data', (d) => { stdout += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr, stdout }); });
  });
}

describe('islet main', () => {
  it('exits non-zero with one line naming PORT when PORT is not a number', async () => {
    const { code, stderr, stdout } = await run({ PORT: 'abc', LOG_LEVEL: 'silent' });
    assert.equal(code, 2);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /^islet: invalid setting PORT/);
    assert.equal(stdout, '');
  });

  it('exits non-zero naming ISLET_MAX_CONCURRENCY when it is zero', async () => {
    const { code, stderr } = await run({ ISLET_MAX_CONCURRENCY: '0', LOG_LEVEL: 'silent' });
    assert.equal(code, 2);
    assert.match(stderr.trim(), /^islet: invalid setting ISLET_MAX_CONCURRENCY/);
  });

  it('starts, logs its URL, serves /healthz, and exits 0 on SIGTERM', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'islet-main-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const child = spawn(process.execPath, ['--no-node-snapshot', MAIN], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ISLET_DATA_DIR: dataDir, ISLET_EMBEDDED_NATS: 'off', LOG_LEVEL: 'info', NATS_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no listening line in: ${out}`)), 60_000);
      child.stdout.on('data', (d) => {
        out += d;
        for (const line of out.split('\n')) {
          try {
            const record = JSON.parse(line) as { msg?: string; url?: string };
            if (record.url && /listening/.test(record.msg ?? '')) { clearTimeout(timer); resolve(record.url); }
          } catch { /* partial line */ }
        }
      });
      child.on('exit', () => reject(new Error(`exited early: ${out}`)));
    });
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
