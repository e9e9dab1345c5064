/**
 * The `islet` command: deploy, invoke and inspect functions on an islet server.
 * `bin/islet.js` runs this file; `runCli` is the testable entry.
 */
import { IsletApiError, IsletConnectionError } from '@islet/sdk/client';
import type { CliEnv } from './args.ts';
import { BundleError } from './bundle.ts';
import { asyncConfigCommand, ASYNC_CONFIG_HELP } from './commands/async-config.ts';
import { deadLettersCommand, DEAD_LETTERS_HELP, statusCommand, STATUS_HELP } from './commands/async.ts';
import { deployCommand, DEPLOY_HELP } from './commands/deploy.ts';
import { devCommand, DEV_HELP } from './commands/dev.ts';
import { eventSourcesCommand, EVENT_SOURCES_HELP } from './commands/event-sources.ts';
import { lsCommand, LS_HELP, rmCommand, RM_HELP } from './commands/functions.ts';
import { initCommand, INIT_HELP } from './commands/init.ts';
import { invokeCommand, INVOKE_HELP } from './commands/invoke.ts';
import { logsCommand, LOGS_HELP } from './commands/logs.ts';
import { CliError, ExitCodes, UsageError } from './errors.ts';

type Command = (args: string[], env: CliEnv, signal: AbortSignal) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string; summary: string }> = {
  init: { run: initCommand, help: INIT_HELP, summary: 'copy a blueprint into a new folder' },
  dev: { run: devCommand, help: DEV_HELP, summary: 'run a local server, deploy and redeploy on save' },
  deploy: { run: deployCommand, help: DEPLOY_HELP, summary: 'bundle and upload an entry, or apply a manifest' },
  invoke: { run: invokeCommand, help: INVOKE_HELP, summary: 'invoke a function with a JSON event' },
  logs: { run: logsCommand, help: LOGS_HELP, summary: 'print or follow a function\'s logs' },
  ls: { run: lsCommand, help: LS_HELP, summary: 'list functions' },
  rm: { run: rmCommand, help: RM_HELP, summary: 'delete a function' },
  'async-config': { run: asyncConfigCommand, help: ASYNC_CONFIG_HELP, summary: 'show or set async invocation settings' },
  'dead-letters': { run: deadLettersCommand, help: DEAD_LETTERS_HELP, summary: 'list or redrive failed async events' },
  status: { run: statusCommand, help: STATUS_HELP, summary: 'show what happened to an async invocation' },
  'event-sources': { run: eventSourcesCommand, help: EVENT_SOURCES_HELP, summary: 'manage NATS event-source mappings' },
};

export const USAGE = `islet <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(14)} ${c.summary}`).join('\n')}

Global options:
  --url URL      server (default: $ISLET_URL or http://127.0.0.1:8080)
  --token TOKEN  admin token (default: $ISLET_ADMIN_TOKEN)
  --json         machine-readable output on stdout
  -q, --quiet    no progress output on stderr
  -h, --help     help for a command

Exit codes: 0 ok, 1 operation failed, 2 usage error, 3 server unreachable or auth refused.`;

/** Runs one command line; returns the exit code. Errors are printed, never thrown. */
export async function runCli(argv: string[], cliEnv: CliEnv, signal: AbortSignal = new AbortController().signal): Promise<number> {
  const stderr = cliEnv.stderr ?? process.stderr;
  const stdout = cliEnv.stdout ?? process.stdout;
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? stderr : stdout).write(`${USAGE}\n`);
    return name === undefined ? ExitCodes.usage : ExitCodes.ok;
  }
  if (name === '--version' || name === '-v') {
    stdout.write('islet 0.1.0\n');
    return ExitCodes.ok;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    stderr.write(`islet: unknown command ${JSON.stringify(name)}\n\n${USAGE}\n`);
    return ExitCodes.usage;
  }
  try {
    return await command.run(args, cliEnv, signal);
  } catch (err) {
    const { message, code } = describeError(err, name, cliEnv);
    stderr.write(`islet ${name}: ${message}\n`);
    return code;
  }
}

/** The message and exit code for an error a command threw. */
export function describeError(err: unknown, command: string, cliEnv: CliEnv): { message: string; code: number } {
  if (err instanceof UsageError) return { message: `${err.message}\nrun 'islet ${command} --help' for usage`, code: ExitCodes.usage };
  if (err instanceof CliError) return { message: err.message, code: err.exitCode };
  if (err instanceof BundleError) return { message: err.message, code: ExitCodes.failed };
  if (err instanceof IsletConnectionError) {
    return { message: `${err.message}\nis the server running? start one with 'npm start' or 'islet dev', or set --url / ISLET_URL`, code: ExitCodes.unreachable };
  }
  if (err instanceof IsletApiError) {
    if (err.status === 401) {
      const hint = cliEnv.env.ISLET_ADMIN_TOKEN ? 'the token was refused: check ISLET_ADMIN_TOKEN / --token' : 'set ISLET_ADMIN_TOKEN or pass --token';
      return { message: `unauthorized (${err.message}): ${hint}`, code: ExitCodes.unreachable };
    }
    if (err.status === 403) return { message: `forbidden (${err.message}): the server has no admin token, so it answers loopback clients only`, code: ExitCodes.unreachable };
    return { message: `${err.code}: ${err.message}`, code: ExitCodes.failed };
  }
  const e = err as Error;
  return { message: `unexpected error: ${e?.stack ?? String(err)}`, code: ExitCodes.failed };
}

/** Runs the CLI for this process (argv, env, cwd, signals) and exits with its code. */
export async function cliMain(): Promise<never> {
  const ac = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals += 1;
    if (signals > 1) process.exit(130);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await runCli(process.argv.slice(2), { env: process.env, cwd: process.cwd() }, ac.signal);
  // Flush what is buffered (pipes are asynchronous on some platforms), then exit: follow streams
  // and keep-alive sockets must not hold the process open once the command is done.
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  process.exit(code);
}

if (import.meta.main) await cliMain();
