import type { LogRecord } from '@islet/sdk';
import { intFlag, parseCommand, type CliEnv } from '../args.ts';
import { UsageError } from '../errors.ts';

export const LOGS_HELP = `islet logs <name> [options]

Prints a function's logs (console lines and START/END/REPORT records).

Options:
  -f, --follow          keep streaming new records (Ctrl-C to stop)
  --since TIME          records from TIME: ISO date, epoch ms, or an age like 30s, 10m, 2h, 1d
  --until TIME          records up to TIME
  --request-id ID       only one invocation's records
  --limit N             at most N records (default: the server's, 1000)`;

const OPTIONS = {
  follow: { type: 'boolean', short: 'f' },
  since: { type: 'string' },
  until: { type: 'string' },
  'request-id': { type: 'string' },
  limit: { type: 'string' },
} as const;

/** `islet logs`. */
export async function logsCommand(args: string[], cliEnv: CliEnv, signal?: AbortSignal): Promise<number> {
  const { values, positionals, out, client } = parseCommand(args, OPTIONS, cliEnv, { min: 1, max: 1 });
  if (values.help) return out.line(LOGS_HELP), 0;
  const name = positionals[0]!;
  const query = {
    since: parseTime('since', values.since),
    until: parseTime('until', values.until),
    requestId: values['request-id'],
    limit: intFlag('limit', values.limit, 1),
  };
  const print = (record: LogRecord) => {
    if (out.json) (cliEnv.stdout ?? process.stdout).write(`${JSON.stringify(record)}\n`);
    else out.line(formatRecord(record));
  };
  const islet = client();
  if (!values.follow) {
    const { items } = await islet.logs.query(name, query);
    items.forEach(print);
    return 0;
  }
  for await (const record of islet.logs.follow(name, query, signal)) print(record);
  return 0;
}

/** One line per record, Lambda's wording for START/END/REPORT. */
export function formatRecord(r: LogRecord): string {
  const head = `${r.time} ${r.requestId}`;
  switch (r.type) {
    case 'start': return `${head} START${r.cold ? ' (cold)' : ''}${r.version ? ` Version: ${String(r.version)}` : ''}`;
    case 'end': return `${head} END`;
    case 'report': return `${head} REPORT Duration: ${r.durationMs} ms Billed Duration: ${r.billedDurationMs} ms `
      + `Memory Size: ${r.memoryLimitMb} MB Max Memory Used: ${r.memoryUsedMb} MB`
      + `${r.initDurationMs !== undefined ? ` Init Duration: ${r.initDurationMs} ms` : ''} Outcome: ${r.outcome}`;
    default: return `${head} ${(r.level ?? 'info').toUpperCase().padEnd(5)} ${r.message ?? ''}`;
  }
}

const AGE = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** ISO date, epoch ms, or an age (`10m`) → epoch ms. */
export function parseTime(flag: string, value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const age = AGE.exec(value);
  if (age) return now - Number(age[1]) * UNIT_MS[age[2]!]!;
  if (/^\d+$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--${flag} takes an ISO time, epoch ms or an age like 10m, got ${JSON.stringify(value)}`);
  return t;
}
