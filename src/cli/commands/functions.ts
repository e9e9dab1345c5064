import { triggerUrl } from '../apply.ts';
import { parseCommand, type CliEnv } from '../args.ts';
import { table } from '../output.ts';

export const LS_HELP = `islet ls

Lists the functions on the server.`;

export const RM_HELP = `islet rm <name>

Deletes a function (its warm isolates are dropped).`;

/** `islet ls`. */
export async function lsCommand(args: string[], cliEnv: CliEnv): Promise<number> {
  const { values, out, client } = parseCommand(args, {}, cliEnv, { max: 0 });
  if (values.help) return out.line(LS_HELP), 0;
  const islet = client();
  const functions = await islet.list();
  out.result({ functions }, () => functions.length === 0 ? 'no functions' : table([
    ['NAME', 'SHAPE', 'MEMORY', 'TIMEOUT', 'REV', 'UPDATED', 'URL'],
    ...functions.map((f) => [
      f.name, f.handlerShape, `${f.config.memoryMb}MB`, `${f.config.timeoutMs}ms`, String(f.revision), f.updatedAt, triggerUrl(islet.url, f.name),
    ]),
  ]));
  return 0;
}

/** `islet rm`. */
export async function rmCommand(args: string[], cliEnv: CliEnv): Promise<number> {
  const { values, positionals, out, client } = parseCommand(args, {}, cliEnv, { min: 1, max: 1 });
  if (values.help) return out.line(RM_HELP), 0;
  const name = positionals[0]!;
  await client().delete(name);
  out.result({ deleted: name }, () => `deleted ${name}`);
  return 0;
}
