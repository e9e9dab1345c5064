import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { jsonFlag, parseCommand, type CliEnv } from '../args.ts';
import { CliError, ExitCodes, UsageError } from '../errors.ts';

export const INVOKE_HELP = `islet invoke <name> [options]

Invokes a function with a JSON event and prints its result.

Options:
  --data JSON     the event (default: null)
  --file FILE     read the event from a file ('-' for stdin)
  --async         queue the invocation (X-Invocation-Type: Event); prints the request id
  --dry-run       only check the function exists and may be invoked
  --log-tail      print the invocation's last 4 KB of log to stderr
  --idempotency-key KEY   async only: dedup key

Exit code 1 when the function failed (its error is printed).`;

const OPTIONS = {
  data: { type: 'string', short: 'd' },
  file: { type: 'string', short: 'f' },
  async: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'log-tail': { type: 'boolean' },
  'idempotency-key': { type: 'string' },
} as const;

/** `islet invoke`. */
export async function invokeCommand(args: string[], cliEnv: CliEnv): Promise<number> {
  const { values, positionals, out, client } = parseCommand(args, OPTIONS, cliEnv, { min: 1, max: 1 });
  if (values.help) return out.line(INVOKE_HELP), 0;
  if (values.data !== undefined && values.file !== undefined) throw new UsageError('give --data or --file, not both');
  if (values.async && values['dry-run']) throw new UsageError('give --async or --dry-run, not both');
  const name = positionals[0]!;

  let event: unknown;
  if (values.data !== undefined) event = jsonFlag('data', values.data);
  if (values.file !== undefined) {
    const text = values.file === '-' ? await readStdin() : await readFile(resolve(cliEnv.cwd, values.file), 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${values.file}: ${err.code ?? err.message}`);
    });
    event = jsonFlag('file', text);
  }

  const type = values.async ? 'Event' : values['dry-run'] ? 'DryRun' : 'RequestResponse';
  const result = await client().invoke(name, event, {
    type,
    logTail: values['log-tail'] === true,
    idempotencyKey: values['idempotency-key'],
  });
  if (result.logTail !== undefined && !out.json) out.error(result.logTail.trimEnd());

  if (out.json) {
    out.result(result);
  } else if (type === 'Event') {
    out.line(`queued ${(result.payload as { requestId?: string } | undefined)?.requestId ?? result.requestId}`);
  } else if (type === 'DryRun') {
    out.line(`ok: ${name} exists and may be invoked`);
  } else if (result.functionError === undefined) {
    out.line(typeof result.payload === 'string' ? result.payload : JSON.stringify(result.payload, null, 2));
  }
  if (result.functionError !== undefined) {
    const error = result.payload as { errorType?: string; errorMessage?: string; trace?: string[] };
    const trace = (error.trace ?? []).map((line) => `    ${line}`).join('\n');
    throw new CliError(`function error (${result.functionError}): ${error.errorType ?? 'Error'}: ${error.errorMessage ?? ''}${trace ? `\n${trace}` : ''}`, ExitCodes.failed);
  }
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
