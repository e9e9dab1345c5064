import { cp, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommand, type CliEnv } from '../args.ts';
import { CliError, ExitCodes, UsageError } from '../errors.ts';
import { table } from '../output.ts';

/** Blueprints ship as the repository's examples/ folders. */
export const BLUEPRINTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples');

export const INIT_HELP = `islet init [blueprint] [dir]

Copies a blueprint (an example app with README, source and islet.json) into dir
(default: ./<blueprint>). Without a blueprint, lists them.`;

/** `islet init`. */
export async function initCommand(args: string[], cliEnv: CliEnv): Promise<number> {
  const { values, positionals, out } = parseCommand(args, { force: { type: 'boolean' } }, cliEnv, { max: 2 });
  if (values.help) return out.line(INIT_HELP), 0;
  const blueprints = await listBlueprints();
  const [name, dir] = positionals;
  if (name === undefined) {
    out.result({ blueprints }, () => `blueprints (islet init <name> [dir]):\n${table(blueprints.map((b) => [`  ${b.name}`, b.summary]))}`);
    return 0;
  }
  if (!blueprints.some((b) => b.name === name)) {
    throw new UsageError(`no blueprint ${JSON.stringify(name)}; there are: ${blueprints.map((b) => b.name).join(', ')}`);
  }
  const target = resolve(cliEnv.cwd, dir ?? name);
  const existing = await readdir(target).catch(() => []);
  if (existing.length > 0 && !values.force) throw new CliError(`${target} exists and is not empty (use --force to copy into it)`, ExitCodes.failed);
  await cp(join(BLUEPRINTS_DIR, name), target, {
    recursive: true,
    force: values.force === true,
    filter: (src) => !/\.test\.ts$|[\\/]node_modules([\\/]|$)|[\\/]\.islet([\\/]|$)/.test(src),
  });
  out.result({ blueprint: name, dir: target }, () => `created ${target} from blueprint ${name}\nnext: cd ${dir ?? name} && islet dev`);
  return 0;
}

/** Blueprint folders with the first line of their README after the title. */
export async function listBlueprints(): Promise<Array<{ name: string; summary: string }>> {
  const entries = await readdir(BLUEPRINTS_DIR, { withFileTypes: true }).catch(() => []);
  const result: Array<{ name: string; summary: string }> = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const readme = join(BLUEPRINTS_DIR, entry.name, 'README.md');
    if (!(await stat(readme).catch(() => undefined))) continue;
    const text = await readFile(readme, 'utf8');
    const summary = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#')) ?? '';
    result.push({ name: basename(entry.name), summary });
  }
  return result.sort((a, b) => a.name.localeCompare(b.name));
}
