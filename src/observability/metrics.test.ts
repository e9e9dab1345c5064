import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { parsePromText, promHas, promValue } from '../../test/helpers/prom-text.ts';
import type { InvocationReport } from '../invoke/types.ts';
import { Metrics } from './metrics.ts';

function report(overrides: Partial<InvocationReport> = {}): InvocationReport {
  return {
    requestId: 'r', functionName: 'hello', version: '$LATEST', trigger: 'http', startedAt: new Date().toISOString(),
    durationMs: 20, billedDurationMs: 20, memoryLimitMb: 128, memoryUsedMb: 5, outcome: 'success', ...overrides,
  };
}

describe('Metrics', () => {
  it('counts invocations, errors, throttles, cold starts and discards by label', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.onStart({ functionName: 'hello', cold: true });
    metrics.onReport(report({ initDurationMs: 30 }));
    metrics.onStart({ functionName: 'hello', cold: false });
    metrics.onReport(report({ outcome: 'timeout', trigger: 'invoke', durationMs: 3000 }));
    metrics.onThrottle({ functionName: 'hello', trigger: 'http' });
    metrics.onIsolateDiscard({ functionName: 'hello', reason: 'timeout' });
    const s = parsePromText(await metrics.render());
    assert.equal(promValue(s, 'islet_invocations_total', { function: 'hello', outcome: 'success', trigger: 'http' }), 1);
    assert.equal(promValue(s, 'islet_invocations_total', { function: 'hello', outcome: 'timeout', trigger: 'invoke' }), 1);
    assert.equal(promValue(s, 'islet_invocations_total', { function: 'hello', outcome: 'throttled', trigger: 'http' }), 1);
    assert.equal(promValue(s, 'islet_errors_total', { function: 'hello' }), 1);
    assert.equal(promValue(s, 'islet_throttles_total', { function: 'hello' }), 1);
    assert.equal(promValue(s, 'islet_cold_starts_total', { function: 'hello' }), 1);
    assert.equal(promValue(s, 'islet_init_duration_seconds_count', { function: 'hello' }), 1);
    assert.equal(promValue(s, 'islet_invocation_duration_seconds_count', { function: 'hello' }), 2);
    assert.equal(promValue(s, 'islet_invocation_duration_seconds_sum', { function: 'hello' }), 3.02);
    assert.equal(promValue(s, 'islet_isolate_discards_total', { reason: 'timeout' }), 1);
  });

  it('reads runtime gauges at scrape time and drops functions that went cold', async () => {
    let perFunction = [{ functionName: 'a', warm: 2, busy: 1 }, { functionName: 'b', warm: 1, busy: 0 }];
    const metrics = new Metrics({
      processMetrics: false,
      runtimeStats: () => ({ warmIsolates: perFunction.reduce((n, f) => n + f.warm, 0), executing: 1, inFlight: 3, heapUsedBytes: 4096, perFunction }),
    });
    let s = parsePromText(await metrics.render());
    assert.equal(promValue(s, 'islet_warm_isolates'), 3);
    assert.equal(promValue(s, 'islet_concurrent_executions'), 3);
    assert.equal(promValue(s, 'islet_isolate_heap_bytes'), 4096);
    assert.equal(promValue(s, 'islet_function_warm_isolates', { function: 'a' }), 2);
    perFunction = [{ functionName: 'a', warm: 1, busy: 0 }];
    s = parsePromText(await metrics.render());
    assert.equal(s.some((x) => x.name === 'islet_function_warm_isolates' && x.labels.function === 'b'), false);
    assert.equal(promValue(s, 'islet_warm_isolates'), 1);
  });

  it('records the event hooks and dropped log records', async () => {
    const store = { dropped: 0 };
    const metrics = new Metrics({ processMetrics: false, logStore: store });
    metrics.asyncQueueDepth('hello', 7);
    metrics.asyncEventAge('hello', 1500);
    metrics.eventDeadLettered('hello');
    metrics.destinationFailed('http');
    metrics.batchProcessed('m1', 10);
    metrics.eventSourceLag('m1', 42);
    store.dropped = 5;
    let s = parsePromText(await metrics.render());
    assert.equal(promValue(s, 'islet_async_queue_depth', { function: 'hello' }), 7);
    assert.equal(promValue(s, 'islet_async_event_age_seconds_sum', { function: 'hello' }), 1.5);
    assert.equal(promValue(s, 'islet_events_dead_lettered_total', { function: 'hello' }), 1);
    assert.equal(promValue(s, 'islet_destination_delivery_failures_total', { kind: 'http' }), 1);
    assert.equal(promValue(s, 'islet_event_source_batch_size_sum', { mapping: 'm1' }), 10);
    assert.equal(promValue(s, 'islet_event_source_lag', { mapping: 'm1' }), 42);
    assert.equal(promValue(s, 'islet_log_records_dropped_total'), 5);
    store.dropped = 8;
    s = parsePromText(await metrics.render());
    assert.equal(promValue(s, 'islet_log_records_dropped_total'), 8);
  });

  it('keeps its own registry, with process metrics on it and nothing on the global one', async () => {
    const before = (await globalRegistry.getMetricsAsJSON()).length;
    const a = new Metrics();
    const b = new Metrics();
    const s = parsePromText(await a.render());
    assert.ok(promHas(s, 'process_cpu_user_seconds_total'));
    assert.ok(promHas(s, 'nodejs_eventloop_lag_seconds'));
    assert.match(await b.render(), /# TYPE islet_invocations_total counter/);
    assert.equal((await globalRegistry.getMetricsAsJSON()).length, before);
  });
});
