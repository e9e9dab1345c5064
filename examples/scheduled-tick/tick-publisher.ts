/**
 * Publishes a tick `{n, at, schedule}` to a NATS subject every interval: a tiny cron for
 * functions fed through an event source. Run it next to islet (one publisher per schedule):
 *
 *   node tick-publisher.ts --url nats://127.0.0.1:4222 --subject ticks.every-minute --every 60s
 *
 * Or skip it and let the system cron publish: `* * * * * nats pub ticks.every-minute '{"n":0,"at":"…","schedule":"cron"}'`.
 */
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';

export interface TickOptions {
  servers: string;
  subject: string;
  intervalMs: number;
  /** Stop after this many ticks (default: run until aborted). */
  count?: number;
  signal?: AbortSignal;
}

/** Publishes ticks until `count` is reached or `signal` aborts. Resolves with the ticks sent. */
export async function publishTicks(options: TickOptions): Promise<number> {
  const nc = await connect({ servers: options.servers });
  let n = 0;
  try {
    while (!options.signal?.aborted && (options.count === undefined || n < options.count)) {
      n += 1;
      nc.publish(options.subject, JSON.stringify({ n, at: new Date().toISOString(), schedule: `every ${options.intervalMs} ms` }));
      await nc.flush();
      if (options.count !== undefined && n >= options.count) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.intervalMs);
        options.signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
  } finally {
    await nc.drain();
  }
  return n;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `60s`, `5m`, `500ms`, `1h` → milliseconds. */
export function parseInterval(text: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!match) throw new Error(`--every takes a number and a unit (ms, s, m, h), got ${JSON.stringify(text)}`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' },
      subject: { type: 'string', default: 'ticks.every-minute' },
      every: { type: 'string', default: '60s' },
      count: { type: 'string' },
    },
  });
  const ac = new AbortController();
  process.on('SIGINT', () => ac.abort());
  process.on('SIGTERM', () => ac.abort());
  const sent = await publishTicks({
    servers: values.url,
    subject: values.subject,
    intervalMs: parseInterval(values.every),
    count: values.count === undefined ? undefined : Number(values.count),
    signal: ac.signal,
  });
  process.stderr.write(`published ${sent} ticks to ${values.subject}\n`);
}
