import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config.ts';
import { isIsletError } from '../errors.ts';
import { silentLogger } from '../observability/logger.ts';
import { freePort, startNats } from '../../test/helpers/nats.ts';
import { eventually } from '../../test/helpers/eventually.ts';
import { NatsEvents } from './connection.ts';

const waitFor = (check: () => boolean | Promise<boolean>, timeoutMs = 20_000) => eventually('condition', check, timeoutMs);

function natsServersUsing(storeDir: string): number {
  // Only the nats-server itself, not the sh watchdog whose command line names it too.
  try {
    return execFileSync('pgrep', ['-f', `^nats-server.*${storeDir}`]).toString().trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

describe('NatsEvents', () => {
  it('connects to NATS_URL and reconnects after the server restarts', async (t) => {
    const nats = await startNats();
    t.after(() => nats.stop());
    const events = await NatsEvents.start(loadConfig({ NATS_URL: nats.url }), silentLogger());
    t.after(() => events.close());
    assert.equal(events.mode, 'external');
    assert.equal(events.available(), true);
    assert.deepEqual(events.status(), { mode: 'external', servers: [nats.url], connected: true });
    await nats.kill();
    await waitFor(() => !events.available());
    assert.throws(() => events.assertAvailable(), (err) => isIsletError(err, 'EventsUnavailable') && /NATS_URL/.test(err.message));
    await nats.restart();
    await waitFor(() => events.available());
  });

  it('keeps trying when NATS_URL is down at start and connects once it is up', async (t) => {
    const nats = await startNats();
    t.after(() => nats.stop());
    await nats.kill();
    const events = await NatsEvents.start(loadConfig({ NATS_URL: nats.url }), silentLogger(), { firstConnectWaitMs: 200 });
    t.after(() => events.close());
    assert.equal(events.available(), false);
    assert.throws(() => events.js, (err) => isIsletError(err, 'EventsUnavailable'));
    await nats.restart();
    await waitFor(() => events.available());
  });

  it('authenticates with NATS_TOKEN and with NATS_USER/NATS_PASS', async (t) => {
    for (const [args, env] of [
      [['--auth', 's3cret'], { NATS_TOKEN: 's3cret' }],
      [['--user', 'islet', '--pass', 'pw'], { NATS_USER: 'islet', NATS_PASS: 'pw' }],
    ] as const) {
      const port = await freePort();
      const storeDir = await mkdtemp(join(tmpdir(), 'islet-auth-'));
      const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, ...args], { stdio: 'ignore' });
      t.after(async () => {
        child.kill('SIGKILL');
        await rm(storeDir, { recursive: true, force: true });
      });
      const url = `nats://127.0.0.1:${port}`;
      const events = await NatsEvents.start(loadConfig({ NATS_URL: url, ...env }), silentLogger(), { firstConnectWaitMs: 10_000 });
      t.after(() => events.close());
      assert.equal(events.available(), true, JSON.stringify(env));
      const wrong = await NatsEvents.start(loadConfig({ NATS_URL: url }), silentLogger(), { firstConnectWaitMs: 300 });
      t.after(() => wrong.close());
      assert.equal(wrong.available(), false);
    }
  });

  it('is disabled with a hint when there is no NATS_URL and no embedded server', async (t) => {
    const events = await NatsEvents.start(loadConfig({ ISLET_EMBEDDED_NATS: 'off' }), silentLogger());
    t.after(() => events.close());
    assert.equal(events.mode, 'disabled');
    assert.equal(events.available(), false);
    assert.throws(() => events.nc, (err) => isIsletError(err, 'EventsUnavailable') && /install nats-server/.test(err.message));
  });

  it('starts an embedded nats-server under the data dir and stops it on close', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'islet-embedded-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const events = await NatsEvents.start(loadConfig({ ISLET_DATA_DIR: dataDir }), silentLogger(), { firstConnectWaitMs: 10_000 });
    assert.equal(events.mode, 'embedded');
    assert.equal(events.available(), true);
    await events.jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'] });
    await events.close();
    assert.equal(natsServersUsing(join(dataDir, 'nats')), 0);

    // Same store dir on the next start: the stream survived.
    const again = await NatsEvents.start(loadConfig({ ISLET_DATA_DIR: dataDir }), silentLogger(), { firstConnectWaitMs: 10_000 });
    t.after(() => again.close());
    const info = await again.jsm.streams.info('KEEP');
    assert.equal(info.config.name, 'KEEP');
  });

  it('leaves no orphan nats-server when the islet process is SIGKILLed', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'islet-orphan-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const script = `
      import { NatsEvents } from ${JSON.stringify(new URL('./connection.ts', import.meta.url).href)};
      import { loadConfig } from ${JSON.stringify(new URL('../config.ts', import.meta.url).href)};
      import { silentLogger } from ${JSON.stringify(new URL('../observability/logger.ts', import.meta.url).href)};
      const e = await NatsEvents.start(loadConfig({ ISLET_DATA_DIR: ${JSON.stringify(dataDir)} }), silentLogger(), { firstConnectWaitMs: 10000 });
      process.stdout.write(e.available() ? 'up\\n' : 'down\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
    assert.equal(line, 'up');
    assert.equal(natsServersUsing(join(dataDir, 'nats')), 1);
    child.kill('SIGKILL');
    await waitFor(() => natsServersUsing(join(dataDir, 'nats')) === 0);
  });
});
