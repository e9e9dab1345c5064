import type { DiscardReason, FunctionErrorInfo, Outcome } from '../invoke/types.ts';

/** The error a function sees for a limit its isolate hit. */
export function limitError(reason: DiscardReason, limits: { cpuMs?: number; memoryMb: number }, detail: string): FunctionErrorInfo {
  switch (reason) {
    case 'timeout':
      return { errorType: 'Function.Timeout', errorMessage: `Task timed out: the invocation ran past its deadline`, trace: [] };
    case 'cpu':
      return { errorType: 'Function.CpuLimitExceeded', errorMessage: `The invocation used more than ${limits.cpuMs} ms of CPU time`, trace: [] };
    case 'memory':
      return { errorType: 'Function.MemoryLimitExceeded', errorMessage: `The isolate went over its ${limits.memoryMb} MB memory limit`, trace: [] };
    default:
      return { errorType: 'Function.Crashed', errorMessage: `The isolate failed: ${detail}`, trace: [] };
  }
}

/** An isolated-vm error's message without host stack frames. */
export function hostMessage(err: unknown): string {
  let message = err instanceof Error ? (err.name === 'Error' || err.message.startsWith(err.name) ? err.message : `${err.name}: ${err.message}`) : String(err);
  // isolated-vm's wording for `throw <not an Error>`: say it without naming the host's library.
  if (message.startsWith('An object was thrown from supplied code within isolated-vm')) message = 'a value that is not an Error was thrown';
  // Function code chooses these messages (an unhandled rejection's reason): bound them.
  return message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}...` : message;
}

/** Longest error message handed back to a client. */
const MAX_MESSAGE_CHARS = 4096;

/** "SyntaxError: Unexpected token '=' [file:///x.js:1:14]" → "SyntaxError: Unexpected token '=' (x.js:1:14)". */
export function describeCompileError(err: unknown, name: string): string {
  const message = hostMessage(err);
  const located = /^(.*?)\s*\[file:\/\/\/[^\]]*?:(\d+):(\d+)\]\s*$/s.exec(message);
  if (located) return `${located[1]} (${name}.js:${located[2]}:${located[3]})`;
  return message;
}

/** The outcome of an invocation whose isolate was discarded for `killed`. */
export function outcomeOf(killed: DiscardReason | undefined): Outcome {
  if (killed === 'timeout' || killed === 'cpu') return 'timeout';
  if (killed === 'memory') return 'memory';
  if (killed === 'crash') return 'crash';
  return 'error';
}

/** A cold start that failed (module threw, ran out of memory) as the invocation's error. */
export function initError(err: unknown): FunctionErrorInfo {
  const message = err instanceof Error ? err.message : String(err);
  return { errorType: 'Runtime.InitError', errorMessage: message, trace: [] };
}
