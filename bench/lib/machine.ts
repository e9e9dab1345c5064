import { execFile } from 'node:child_process';
import { availableParallelism, cpus, freemem, loadavg, totalmem, platform, arch, release } from 'node:os';
import { promisify } from 'node:util';

/** What the numbers were measured on. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  freeMemoryGiB: number;
  loadAverage1m: number;
  os: string;
  node: string;
  natsServer: string;
}

async function natsServerVersion(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('nats-server', ['--version'], { timeout: 5_000 });
    return stdout.trim().replace(/^nats-server:\s*/, '');
  } catch {
    return 'not found on PATH';
  }
}

/** Describes this machine (CPU, cores, memory, load, Node and nats-server versions). */
export async function describeMachine(): Promise<MachineInfo> {
  const gib = (bytes: number) => Math.round((bytes / 1024 ** 3) * 10) / 10;
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: gib(totalmem()),
    freeMemoryGiB: gib(freemem()),
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    natsServer: await natsServerVersion(),
  };
}
