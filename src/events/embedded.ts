import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.ts';

/** Name of the binary looked up on PATH. */
export const NATS_SERVER_BINARY = 'nats-server';
/** Pause before an embedded nats-server that died on its own is started again. */
const RESPAWN_DELAY_MS = 1_000;
/** How long a stopping nats-server may take before it is killed. */
const STOP_GRACE_MS = 5_000;

/**
 * Runs the child under `sh`, with a watcher that reads the pipe on stdin: when islet exits for
 * any reason (SIGKILL included) the pipe closes, `read` returns and the watcher stops nats-server.
 * Node cannot set PR_SET_PDEATHSIG, so this is how the child never outlives its parent.
 */
const WATCHDOG_SCRIPT = [
  // Background jobs of a non-interactive sh read /dev/null, so keep the pipe on fd 3.
  'exec 3<&0',
  'trap \'kill -TERM $c 2>/dev/null\' TERM INT',
  '"$0" "$@" </dev/null 3<&- & c=$!',
  '( read _x <&3; kill -TERM $c 2>/dev/null ) & w=$!',
  'exec 3<&-',
  'wait $c; rc=$?',
  'kill -0 $c 2>/dev/null && { wait $c; rc=$?; }',
  'kill $w 2>/dev/null',
  'exit $rc',
].join('\n');

/** True when `nats-server` can be started (it is on PATH). */
export function natsServerOnPath(): boolean {
  const probe = spawnSync(NATS_SERVER_BINARY, ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; a race with another process is possible but rare). */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A `nats-server -js` child owned by this process: loopback only, a free port, its store under
 * `<dataDir>/nats` (the same dir on every start, so queued events survive restarts).
 */
export class EmbeddedNatsServer {
  readonly url: string;
  readonly storeDir: string;
  readonly #port: number;
  readonly #log: Logger;
  #child: ChildProcess | undefined;
  #stopping = false;

  private constructor(port: number, storeDir: string, log: Logger) {
    this.#port = port;
    this.storeDir = storeDir;
    this.url = `nats://127.0.0.1:${port}`;
    this.#log = log;
  }

  /** Starts the child; resolves once it was spawned (the client waits for it to listen). */
  static async start(dataDir: string, log: Logger): Promise<EmbeddedNatsServer> {
    const storeDir = join(dataDir, 'nats');
    await mkdir(storeDir, { recursive: true });
    const server = new EmbeddedNatsServer(await freeLoopbackPort(), storeDir, log);
    await server.#spawn();
    return server;
  }

  #spawn(): Promise<void> {
    const args = ['-js', '-a', '127.0.0.1', '-p', String(this.#port), '-sd', this.storeDir];
    const child = spawn('sh', ['-c', WATCHDOG_SCRIPT, NATS_SERVER_BINARY, ...args], { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    this.#child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) this.#log.debug({ nats: line.trim() }, 'embedded nats-server');
    });
    child.on('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      if (this.#stopping) return;
      this.#log.error({ code, signal }, 'embedded nats-server exited; starting it again');
      setTimeout(() => {
        if (this.#stopping) return;
        this.#spawn().catch((err) => this.#log.error({ err }, 'embedded nats-server could not be started again'));
      }, RESPAWN_DELAY_MS).unref();
    });
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
  }

  /** Stops nats-server (SIGTERM via the watchdog, SIGKILL after a grace period). */
  async stop(): Promise<void> {
    this.#stopping = true;
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        // The whole process group: sh, its watcher and nats-server.
        try { if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
      }, STOP_GRACE_MS);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.stdin?.end();
    });
  }
}
