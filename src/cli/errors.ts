/** Exit codes of the `islet` command. */
export const ExitCodes = {
  ok: 0,
  /** The operation failed: a function error on invoke, a bundling error, a server-side refusal. */
  failed: 1,
  /** The command line (or a manifest) is wrong. */
  usage: 2,
  /** The server cannot be reached, or it refused the credentials. */
  unreachable: 3,
} as const;
export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** A wrong command line: the message is printed with a pointer to `--help`. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An error the CLI prints as is and exits with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = ExitCodes.failed, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}
