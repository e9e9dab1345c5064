import { fromIsolateOutput } from '../invoke/payload.ts';
import type {
  FunctionErrorInfo, InvocationObserver, InvocationPayload, InvocationReport, InvocationResult, InvocationValue, Outcome, Trigger,
} from '../invoke/types.ts';
import type { Logger } from '../observability/logger.ts';
import type { FunctionRecord, HandlerShape } from '../registry/types.ts';
import { outcomeOf } from './function-errors.ts';
import type { IsolateRun } from './isolate.ts';
import type { InvocationLog } from './log-capture.ts';

/** How an invocation ended. */
export interface InvocationEnd {
  outcome: Outcome;
  value?: InvocationValue;
  error?: FunctionErrorInfo;
}

/** Maps how the isolate's run ended to the invocation's outcome, value and error. */
export function invocationEnd(run: IsolateRun, shape: HandlerShape, payload: InvocationPayload, maxResponseBytes: number): InvocationEnd {
  if (!run.ok) return { outcome: outcomeOf(run.killed), error: run.error };
  const mapped = fromIsolateOutput(shape, payload, run.value, maxResponseBytes);
  if (!('kind' in mapped)) return { outcome: 'error', error: mapped };
  // An edge queue() that threw: the exception is the error, the value keeps its un-acked messages.
  const thrown = (run.value as { thrown?: FunctionErrorInfo } | null)?.thrown;
  return thrown !== undefined ? { outcome: 'error', error: thrown, value: mapped } : { outcome: 'success', value: mapped };
}

/** What an invocation cost. */
export interface InvocationCost {
  startedAt: Date;
  durationMs: number;
  /** Set on a cold start: isolate + module, ms. */
  initDurationMs?: number | undefined;
  memoryUsedMb: number;
}

/**
 * Ends one invocation: its REPORT (the server log and `observer.onReport`), the ERROR and
 * Lambda-style REPORT lines of its log tail, and the result handed to the caller.
 */
export function finishInvocation(
  context: { record: FunctionRecord; trigger: Trigger; requestId: string; log: InvocationLog; keepTail: boolean; logger: Logger; observer?: InvocationObserver | undefined },
  cost: InvocationCost, end: InvocationEnd,
): InvocationResult {
  const { record, trigger, requestId, log } = context;
  const report: InvocationReport = {
    requestId,
    functionName: record.name,
    version: record.version,
    trigger,
    startedAt: cost.startedAt.toISOString(),
    durationMs: round2(cost.durationMs),
    billedDurationMs: Math.max(1, Math.ceil(cost.durationMs)),
    memoryLimitMb: record.config.memoryMb,
    memoryUsedMb: cost.memoryUsedMb,
    outcome: end.outcome,
    ...(cost.initDurationMs === undefined ? {} : { initDurationMs: round2(cost.initDurationMs) }),
  };
  // The record is only built when it is written (a server at LOG_LEVEL=warn skips it).
  if (context.logger.isLevelEnabled('info')) {
    context.logger.info({
      requestId, fn: record.name, durationMs: report.durationMs, billedDurationMs: report.billedDurationMs,
      initDurationMs: report.initDurationMs, memoryUsedMb: report.memoryUsedMb, memoryLimitMb: report.memoryLimitMb, outcome: end.outcome, trigger,
    }, 'REPORT');
  }
  context.observer?.onReport?.(report);
  if (context.keepTail) {
    if (end.error !== undefined) log.note(`${new Date().toISOString()}\t${requestId}\tERROR\t${end.error.errorType}: ${end.error.errorMessage}\n`);
    log.note(`REPORT RequestId: ${requestId}\tDuration: ${report.durationMs} ms\tBilled Duration: ${report.billedDurationMs} ms\t`
      + `Memory Size: ${report.memoryLimitMb} MB\tMax Memory Used: ${report.memoryUsedMb} MB`
      + (report.initDurationMs === undefined ? '' : `\tInit Duration: ${report.initDurationMs} ms`) + '\n');
  }
  const result: InvocationResult = { requestId, outcome: end.outcome, report };
  if (end.value !== undefined) result.value = end.value;
  if (end.error !== undefined) result.error = end.error;
  if (context.keepTail) {
    const tail = log.tail();
    if (tail !== undefined) result.logTail = tail;
  }
  return result;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
