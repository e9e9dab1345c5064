import { jsonFlag, parseCommand, type CliEnv } from '../args.ts';
import { UsageError } from '../errors.ts';

export const ASYNC_CONFIG_HELP = `islet async-config <name> [--set JSON | --delete]

Shows, sets or deletes a function's async invocation settings: retries, maximum event age,
and destinations, e.g.
  islet async-config job --set '{"maxRetryAttempts":1,"onFailure":"nats:jobs.failed"}'
Fields: maxRetryAttempts, maxEventAgeSeconds, retryBackoff {baseMs, maxMs}, onSuccess, onFailure
(destinations: nats:<subject>, function:<name> or an http(s):// URL). --set replaces all of them.'`;

const OPTIONS = {
  set: { type: 'string' },
  delete: { type: 'boolean' },
} as const;

/** `islet async-config`. */
export async function asyncConfigCommand(args: string[], cliEnv: CliEnv): Promise<number> {
  const { values, positionals, out, client } = parseCommand(args, OPTIONS, cliEnv, { min: 1, max: 1 });
  if (values.help) return out.line(ASYNC_CONFIG_HELP), 0;
  if (values.set !== undefined && values.delete) throw new UsageError('give --set or --delete, not both');
  const name = positionals[0]!;
  const islet = client();
  if (values.delete) {
    const { deleted } = await islet.asyncConfig.delete(name);
    out.result({ functionName: name, deleted }, () => deleted ? `deleted the async config of ${name} (defaults apply)` : `${name} had no async config`);
    return 0;
  }
  if (values.set !== undefined) {
    const config = jsonFlag('set', values.set);
    if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new UsageError('--set takes a JSON object');
    out.result(await islet.asyncConfig.put(name, config as Record<string, unknown>));
    return 0;
  }
  out.result(await islet.asyncConfig.get(name));
  return 0;
}
