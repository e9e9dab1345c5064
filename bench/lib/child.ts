import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A server running in a child process (so the load generator has its own event loop). */
export interface ChildServer {
  url: string;
  pid: number;
  /** RSS and whatever else the child reports for {type:'stats'}. */
  stats(): Promise<{ rss: number; heapUsed?: number; warmIsolates?: number; gc?: boolean }>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const CHILDREN = join(import.meta.dirname, '..', 'children');

async function startChild(file: string, env: Record<string, string>, cleanup: () => Promise<void> = async () => {}): Promise<ChildServer> {
  const child: ChildProcess = fork(join(CHILDREN, file), [], {
    execArgv: ['--no-node-snapshot', '--expose-gc'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4_000); });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start within ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS);
    child.on('message', (msg: { type?: string; url?: string }) => {
      if (msg.type === 'ready' && msg.url) { clearTimeout(timer); resolve(msg.url); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${file} exited with ${code}: ${stderr.trim()}`)); });
  }).catch(async (err: unknown) => { child.kill('SIGKILL'); await cleanup(); throw err; });

  let stopping: Promise<void> | undefined;
  return {
    url,
    pid: child.pid!,
    stats: () => new Promise((resolve, reject) => {
      const onMessage = (msg: { type?: string; rss?: number }) => {
        if (msg.type !== 'stats') return;
        child.off('message', onMessage);
        resolve(msg as { rss: number });
      };
      child.on('message', onMessage);
      if (!child.send({ type: 'stats' })) reject(new Error(`${file} is gone`));
    }),
    stop: () => (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await cleanup();
    })()),
  };
}

/** Starts islet (src/server.ts) in a child with a fresh data dir and these extra settings. */
export async function startIslet(env: Record<string, string> = {}): Promise<ChildServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'islet-bench-'));
  return startChild('islet.ts', { LOG_LEVEL: 'silent', ISLET_EMBEDDED_NATS: 'off', ISLET_DATA_DIR: dataDir, ISLET_ADMIN_TOKEN: '', ...env },
    () => rm(dataDir, { recursive: true, force: true }));
}

/** Starts the bare Hono hello-world baseline in a child. */
export function startHonoHello(): Promise<ChildServer> {
  return startChild('hono-hello.ts', {});
}
