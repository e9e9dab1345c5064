/** Helpers for tests that run the real `islet` command (bin/islet.js) as a child process. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../../test/helpers/eventually.ts';

export const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ISLET_BIN = join(REPO_DIR, 'bin/islet.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `islet <args>` and waits for it to exit (killed after `timeoutMs`). */
export function runIslet(args: string[], options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const env = { ...process.env, ISLET_URL: undefined, ISLET_ADMIN_TOKEN: undefined, ...options.env };
    const child = spawn(process.execPath, [ISLET_BIN, ...args], { cwd: options.cwd ?? REPO_DIR, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * A temp project folder whose `node_modules` links to the repository's, so esbuild finds
 * hono, zod and @islet/sdk. Files are written from `files` (path → text). Removed with `t.after`.
 */
export async function tempProject(t: { after: (fn: () => Promise<void>) => void }, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'islet-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await symlink(join(REPO_DIR, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

/** Polls `check` until it returns a value (see test/helpers/eventually.ts). */
export const waitFor = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> =>
  eventually(what, check, timeoutMs, 100);
