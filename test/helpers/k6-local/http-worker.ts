// Worker of the k6 shim: performs one fetch per message and wakes the blocked caller.
import { parentPort, type MessagePort } from 'node:worker_threads';

interface Job { id: number; method: string; url: string; body: string | null; headers: Record<string, string>; signal: Int32Array; port: MessagePort }

parentPort!.on('message', async (job: Job) => {
  const started = performance.now();
  let reply: Record<string, unknown>;
  try {
    const res = await fetch(job.url, { method: job.method, headers: job.headers, body: job.body });
    const body = await res.text();
    reply = { status: res.status, body, headers: [...res.headers.entries()], duration: performance.now() - started };
  } catch (err) {
    reply = { status: 0, body: '', headers: [], duration: performance.now() - started, error: String(err) };
  }
  job.port.postMessage(reply);
  Atomics.store(job.signal, 0, 1);
  Atomics.notify(job.signal, 0);
});
