import type { InvocationObserver, InvocationReport, LogEntry } from '../invoke/types.ts';
import type { LogStore } from './log-store.ts';
import type { Logger } from './logger.ts';
import { capMessage, reportRecord } from './records.ts';

const HOOKS = ['onStart', 'onLog', 'onReport', 'onThrottle', 'onIsolateDiscard'] as const;
/** At most one "observer failed" log line per this many ms, so a broken observer cannot flood the log. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * One observer that calls each of `observers` in turn. A throwing observer is logged (rate
 * limited) and never reaches the runtime or the other observers.
 */
export function fanOutObserver(observers: InvocationObserver[], log?: Logger): InvocationObserver {
  let lastFailureLogAt = 0;
  const result: InvocationObserver = {};
  for (const hook of HOOKS) {
    const targets = observers.filter((o) => typeof o[hook] === 'function');
    if (targets.length === 0) continue;
    (result as Record<string, (arg: unknown) => void>)[hook] = (arg: unknown) => {
      for (const target of targets) {
        try {
          (target[hook] as (arg: unknown) => void).call(target, arg);
        } catch (err) {
          const now = Date.now();
          if (log && now - lastFailureLogAt > FAILURE_LOG_INTERVAL_MS) {
            lastFailureLogAt = now;
            log.error({ err, hook }, 'invocation observer failed');
          }
        }
      }
    };
  }
  return result;
}

/**
 * An observer that writes Lambda-style records into a log store: START at onStart, each console
 * line at onLog, END and REPORT at onReport.
 */
export class LogRecorder implements InvocationObserver {
  readonly #store: LogStore;
  readonly #now: () => Date;

  constructor(store: LogStore, options: { now?: () => Date } = {}) {
    this.#store = store;
    this.#now = options.now ?? (() => new Date());
  }

  onStart(info: { requestId: string; functionName: string; trigger: InvocationReport['trigger']; cold: boolean; version?: string }): void {
    this.#store.append({
      type: 'start', seq: 0, time: this.#now().toISOString(), functionName: info.functionName, requestId: info.requestId,
      trigger: info.trigger, cold: info.cold, ...(info.version === undefined ? {} : { version: info.version }),
    });
  }

  onLog(entry: LogEntry): void {
    this.#store.append({
      type: 'line', seq: 0, time: entry.time, functionName: entry.functionName, requestId: entry.requestId,
      level: entry.level, message: capMessage(entry.message),
    });
  }

  onReport(report: InvocationReport): void {
    const time = this.#now().toISOString();
    this.#store.append({ type: 'end', seq: 0, time, functionName: report.functionName, requestId: report.requestId });
    this.#store.append(reportRecord(report, time));
  }
}
