import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Creates the server's root pino logger; everything else receives children of it. */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { svc: 'islet' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Writes out what the logger still buffers and resolves once its stream finished a write in
 * flight, or after `timeoutMs`: for the last lines before the process kills itself (pino's
 * stdout writes are asynchronous, and `flush()` does not wait for them). Never rejects.
 */
export function flushLogger(log: Logger, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const done = () => { clearTimeout(timer); resolve(); };
    const stream = (log as unknown as Record<symbol, { flushSync?: () => void; once?: (event: string, listener: () => void) => void } | undefined>)[pino.symbols.streamSym];
    try {
      stream?.once?.('write', done);
      stream?.flushSync?.();
    } catch {
      // The timeout still ends the wait.
    }
  });
}
