import type { InvocationReport, LogEntry, Outcome, Trigger } from '../invoke/types.ts';

/** Kinds of log records: console lines plus Lambda's START / END / REPORT. */
export const LogRecordTypes = { line: 'line', start: 'start', end: 'end', report: 'report' } as const;
export type LogRecordType = (typeof LogRecordTypes)[keyof typeof LogRecordTypes];

interface RecordBase {
  /** Position in the store: grows with every record (per store in memory, per stream in JetStream). 0 until stored. */
  seq: number;
  /** ISO timestamp. */
  time: string;
  functionName: string;
  requestId: string;
}

/** One line of function console output. */
export interface LineRecord extends RecordBase {
  type: 'line';
  level: LogEntry['level'];
  message: string;
}

/** An invocation began (Lambda's `START RequestId: … Version: …`). */
export interface StartRecord extends RecordBase {
  type: 'start';
  trigger: Trigger;
  cold: boolean;
  /** Present when the runtime tells it at start. */
  version?: string;
}

/** An invocation ended (Lambda's `END RequestId: …`). */
export interface EndRecord extends RecordBase {
  type: 'end';
}

/** The invocation's report (Lambda's `REPORT RequestId: … Duration: … Billed Duration: …`). */
export interface ReportRecord extends RecordBase {
  type: 'report';
  version: string;
  trigger: Trigger;
  outcome: Outcome;
  durationMs: number;
  billedDurationMs: number;
  memoryLimitMb: number;
  memoryUsedMb: number;
  /** Only on cold starts. */
  initDurationMs?: number;
}

/** Anything the log store keeps and the logs API returns. */
export type LogRecord = LineRecord | StartRecord | EndRecord | ReportRecord;

/** Longest console message kept in one record; longer ones are cut with a marker (NATS payload limits). */
export const MAX_LOG_MESSAGE_BYTES = 64 * 1024;
const CUT_MARKER = ' …[truncated]';

/** Cuts `message` to {@link MAX_LOG_MESSAGE_BYTES} UTF-8 bytes, marking the cut. */
export function capMessage(message: string, maxBytes = MAX_LOG_MESSAGE_BYTES): string {
  if (message.length * 3 <= maxBytes || Buffer.byteLength(message) <= maxBytes) return message;
  const bytes = Buffer.from(message).subarray(0, maxBytes - Buffer.byteLength(CUT_MARKER));
  // A cut inside a multi-byte character decodes to U+FFFD; drop that tail.
  return bytes.toString('utf8').replace(/\uFFFD+$/, '') + CUT_MARKER;
}

/** Billed duration as Lambda bills it: whole milliseconds, rounded up, at least 1. */
export function billedDurationMs(durationMs: number): number {
  return Math.max(1, Math.ceil(durationMs));
}

/** Builds the REPORT record of an invocation report. */
export function reportRecord(report: InvocationReport, time: string): ReportRecord {
  return {
    type: 'report',
    seq: 0,
    time,
    functionName: report.functionName,
    requestId: report.requestId,
    version: report.version,
    trigger: report.trigger,
    outcome: report.outcome,
    durationMs: round2(report.durationMs),
    billedDurationMs: Number.isInteger(report.billedDurationMs) && report.billedDurationMs > 0 ? report.billedDurationMs : billedDurationMs(report.durationMs),
    memoryLimitMb: report.memoryLimitMb,
    memoryUsedMb: report.memoryUsedMb,
    ...(report.initDurationMs === undefined ? {} : { initDurationMs: round2(report.initDurationMs) }),
  };
}

/** The record as a Lambda-style text line (docs, CLI output). */
export function formatRecord(record: LogRecord): string {
  switch (record.type) {
    case 'line':
      return `${record.time}\t${record.requestId}\t${record.level.toUpperCase()}\t${record.message}`;
    case 'start':
      return `START RequestId: ${record.requestId} Version: ${record.version ?? '$LATEST'}`;
    case 'end':
      return `END RequestId: ${record.requestId}`;
    case 'report': {
      const init = record.initDurationMs === undefined ? '' : `\tInit Duration: ${record.initDurationMs.toFixed(2)} ms`;
      const status = record.outcome === 'success' ? '' : `\tStatus: ${record.outcome}`;
      return `REPORT RequestId: ${record.requestId}\tDuration: ${record.durationMs.toFixed(2)} ms\tBilled Duration: ${record.billedDurationMs} ms\t`
        + `Memory Size: ${record.memoryLimitMb} MB\tMax Memory Used: ${record.memoryUsedMb} MB${init}${status}`;
    }
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
