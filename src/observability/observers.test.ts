import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InvocationReport } from '../invoke/types.ts';
import { MemoryLogStore } from './memory-log-store.ts';
import { LogRecorder, fanOutObserver } from './observers.ts';
import { MAX_LOG_MESSAGE_BYTES, formatRecord, type LineRecord, type ReportRecord } from './records.ts';

function report(overrides: Partial<InvocationReport> = {}): InvocationReport {
  return {
    requestId: 'req-1', functionName: 'hello', version: '$LATEST', trigger: 'http', startedAt: new Date().toISOString(),
    durationMs: 12.345, billedDurationMs: 13, memoryLimitMb: 128, memoryUsedMb: 7, outcome: 'success', ...overrides,
  };
}

describe('LogRecorder', () => {
  it('writes START, lines, END and REPORT in order for one invocation', async () => {
    const store = new MemoryLogStore();
    const recorder = new LogRecorder(store);
    recorder.onStart({ requestId: 'req-1', functionName: 'hello', trigger: 'http', cold: true, version: '$LATEST' });
    recorder.onLog({ time: new Date().toISOString(), functionName: 'hello', requestId: 'req-1', level: 'warn', message: 'careful' });
    recorder.onReport(report({ initDurationMs: 40.5 }));
    const { items } = await store.query('hello');
    assert.deepEqual(items.map((r) => r.type), ['start', 'line', 'end', 'report']);
    const rep = items[3] as ReportRecord;
    assert.equal(rep.durationMs, 12.35);
    assert.equal(rep.billedDurationMs, 13);
    assert.equal(rep.initDurationMs, 40.5);
    assert.match(formatRecord(rep), /^REPORT RequestId: req-1\tDuration: 12\.35 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 7 MB\tInit Duration: 40\.50 ms$/);
    assert.equal(formatRecord(items[0]!), 'START RequestId: req-1 Version: $LATEST');
  });

  it('bills whole milliseconds rounded up when the runtime gives no billed duration', async () => {
    const store = new MemoryLogStore();
    new LogRecorder(store).onReport(report({ durationMs: 0.2, billedDurationMs: 0 }));
    const rep = (await store.query('hello')).items.find((r) => r.type === 'report') as ReportRecord;
    assert.equal(rep.billedDurationMs, 1);
    assert.equal('initDurationMs' in rep, false);
  });

  it('cuts an oversized console message with a marker', async () => {
    const store = new MemoryLogStore();
    new LogRecorder(store).onLog({ time: new Date().toISOString(), functionName: 'hello', requestId: 'r', level: 'info', message: 'é'.repeat(MAX_LOG_MESSAGE_BYTES) });
    const [rec] = (await store.query('hello')).items as LineRecord[];
    assert.ok(Buffer.byteLength(rec!.message) <= MAX_LOG_MESSAGE_BYTES);
    assert.match(rec!.message, /truncated\]$/);
  });
});

describe('fanOutObserver', () => {
  it('calls every observer and survives one that throws', () => {
    const seen: string[] = [];
    const observer = fanOutObserver([
      { onThrottle: () => { throw new Error('broken'); } },
      { onThrottle: (i) => seen.push(i.functionName), onIsolateDiscard: (i) => seen.push(i.reason) },
    ]);
    observer.onThrottle!({ functionName: 'f', trigger: 'http' });
    observer.onIsolateDiscard!({ functionName: 'f', reason: 'timeout' });
    assert.deepEqual(seen, ['f', 'timeout']);
    assert.equal(observer.onLog, undefined);
  });
});
