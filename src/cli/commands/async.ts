import { parseCommand, type CliEnv } from '../args.ts';
import { table } from '../output.ts';
import { UsageError } from '../errors.ts';

export const DEAD_LETTERS_HELP = `islet dead-letters <name> [--redrive] [--limit N]

Lists the async events of a function that failed for good and had no onFailure destination
(or whose destination failed). --redrive queues them again with a fresh attempt count.`;

export const STATUS_HELP = `islet status <requestId>

Shows what happened to an async invocation: queued, running, retrying, succeeded, failed or
dead-lettered, with attempts and the last error (kept 24 h).`;

const DEAD_LETTER_OPTIONS = {
  redrive: { type: 'boolean' },
  limit: { type: 'string' },
} as const;

/** `islet dead-letters`. */
export async function deadLettersCommand(args: string[], cliEnv: CliEnv): Promise<number> {
  const { values, positionals, out, client } = parseCommand(args, DEAD_LETTER_OPTIONS, cliEnv, { min: 1, max: 1 });
  if (values.help) return out.line(DEAD_LETTERS_HELP), 0;
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError('--limit takes a positive integer');
  const name = positionals[0]!;
  const islet = client();
  if (values.redrive) {
    const redriven = await islet.deadLetters.redrive(name, { limit });
    out.result({ functionName: name, redriven }, () => `queued ${redriven} dead letter${redriven === 1 ? '' : 's'} of ${name} again`);
    return 0;
  }
  const letters = await islet.deadLetters.list(name, { limit });
  out.result({ deadLetters: letters }, () => letters.length === 0 ? `${name} has no dead letters` : table([
    ['REQUEST ID', 'DEAD-LETTERED', 'INVOKES', 'REASON'],
    ...letters.map((l) => [l.requestId, l.deadLetteredAt, String(l.record.requestContext.approximateInvokeCount), l.reason]),
  ]));
  return 0;
}

/** `islet status`. */
export async function statusCommand(args: string[], cliEnv: CliEnv): Promise<number> {
  const { values, positionals, out, client } = parseCommand(args, {}, cliEnv, { min: 1, max: 1 });
  if (values.help) return out.line(STATUS_HELP), 0;
  const status = await client().invocation(positionals[0]!);
  out.result(status, () => [
    `${status.requestId}  ${status.functionName}  ${status.state}  attempts ${status.attempts}`,
    `enqueued ${status.enqueuedAt}, updated ${status.updatedAt}`,
    ...(status.lastError ? [`last error: ${status.lastError}`] : []),
  ].join('\n'));
  return 0;
}
