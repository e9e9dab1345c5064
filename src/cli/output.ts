/**
 * Where the CLI writes: results to stdout (JSON with `--json`), progress and errors to stderr,
 * so `islet invoke f --json | jq` stays clean.
 */
export interface Output {
  readonly json: boolean;
  /** A human line on stdout (suppressed with --json). */
  line(text: string): void;
  /** The machine result: JSON on stdout with --json, else `human()` lines. */
  result(value: unknown, human?: () => string): void;
  /** Progress on stderr (suppressed with --quiet). */
  progress(text: string): void;
  /** A warning or error on stderr. */
  error(text: string): void;
}

export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/** Output bound to the process streams (or the given ones). */
export function createOutput(options: OutputOptions = {}): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const json = options.json ?? false;
  return {
    json,
    line(text) {
      if (!json) stdout.write(`${text}\n`);
    },
    result(value, human) {
      if (json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else stdout.write(`${human ? human() : typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
    },
    progress(text) {
      if (!options.quiet) stderr.write(`${text}\n`);
    },
    error(text) {
      stderr.write(`${text}\n`);
    },
  };
}

/** Renders rows as aligned columns (first row is the header). */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}
