import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DiscardReason, InvocationObserver, InvocationReport, RuntimeStats, Trigger } from '../invoke/types.ts';

/**
 * Hooks the async queue, destinations and event sources call for their metrics. All cheap and
 * synchronous; they import this interface from observability (never the other way round).
 */
export interface EventMetrics {
  /** Events waiting in a function's async queue (e.g. the consumer's num_pending). */
  asyncQueueDepth(functionName: string, depth: number): void;
  /** How long an async event waited between enqueue and the start of its invocation. */
  asyncEventAge(functionName: string, ageMs: number): void;
  /** An async event went to the dead-letter stream. */
  eventDeadLettered(functionName: string): void;
  /** A destination delivery failed for good (after its retries). `kind`: 'nats' | 'function' | 'http' | … */
  destinationFailed(kind: string): void;
  /** An event-source batch was handed to its function. */
  batchProcessed(mappingId: string, size: number): void;
  /** Messages of a mapping's source not yet delivered to its consumer. */
  eventSourceLag(mappingId: string, pending: number): void;
}

/** EventMetrics that record nothing (tests, or when metrics are off). */
export const noopEventMetrics: EventMetrics = {
  asyncQueueDepth() {}, asyncEventAge() {}, eventDeadLettered() {}, destinationFailed() {}, batchProcessed() {}, eventSourceLag() {},
};

/** Options of {@link Metrics}. */
export interface MetricsOptions {
  /** Read at every scrape for the isolate gauges. */
  runtimeStats?: () => RuntimeStats;
  /** Read at every scrape for `islet_log_records_dropped_total`. */
  logStore?: { readonly dropped: number };
  /** Node process metrics (CPU, memory, event loop lag, GC). @default true */
  processMetrics?: boolean;
}

const DURATION_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
const INIT_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const EVENT_AGE_BUCKETS_S = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 21600];
const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 10000];
/** Outcomes that count as errors. */
const ERROR_OUTCOMES = new Set(['error', 'timeout', 'memory', 'crash']);

/**
 * islet's Prometheus metrics on their own Registry (never prom-client's global one). It is an
 * InvocationObserver for the runtime and an EventMetrics for the event parts. Labels are only
 * bounded values: function names (bounded by the registry), mapping ids, outcome, trigger, reason.
 */
export class Metrics implements InvocationObserver, EventMetrics {
  /** The registry `GET /metrics` renders. */
  readonly registry = new Registry();
  #runtimeStats: (() => RuntimeStats) | undefined;
  #logStore: { readonly dropped: number } | undefined;
  #logDroppedSeen = 0;

  readonly #invocations = new Counter({ name: 'islet_invocations_total', help: 'Invocations by function, outcome (success, error, timeout, memory, crash, throttled) and trigger.', labelNames: ['function', 'outcome', 'trigger'] as const, registers: [this.registry] });
  readonly #errors = new Counter({ name: 'islet_errors_total', help: 'Invocations that ended in a function error, timeout, memory overrun or crash.', labelNames: ['function', 'outcome'] as const, registers: [this.registry] });
  readonly #throttles = new Counter({ name: 'islet_throttles_total', help: 'Invocations refused because a concurrency limit was reached.', labelNames: ['function', 'trigger'] as const, registers: [this.registry] });
  readonly #duration = new Histogram({ name: 'islet_invocation_duration_seconds', help: 'Invocation duration (wall clock, without init).', labelNames: ['function'] as const, buckets: DURATION_BUCKETS_S, registers: [this.registry] });
  readonly #init = new Histogram({ name: 'islet_init_duration_seconds', help: 'Cold start init: isolate creation, prelude and module evaluation.', labelNames: ['function'] as const, buckets: INIT_BUCKETS_S, registers: [this.registry] });
  readonly #coldStarts = new Counter({ name: 'islet_cold_starts_total', help: 'Invocations that needed a new isolate.', labelNames: ['function'] as const, registers: [this.registry] });
  readonly #memoryUsed = new Histogram({ name: 'islet_invocation_memory_used_bytes', help: 'Max isolate heap used per invocation.', labelNames: ['function'] as const, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024].map((mb) => mb * 1024 * 1024), registers: [this.registry] });
  readonly #discards = new Counter({ name: 'islet_isolate_discards_total', help: 'Isolates thrown away, by reason (timeout, memory, cpu, idle, evicted, redeploy, crash).', labelNames: ['function', 'reason'] as const, registers: [this.registry] });

  readonly #concurrent = new Gauge({ name: 'islet_concurrent_executions', help: 'Invocations in flight (running or awaiting I/O) across the process.', registers: [this.registry] });
  readonly #executing = new Gauge({ name: 'islet_executing_isolates', help: 'Isolates executing JavaScript right now.', registers: [this.registry] });
  readonly #warm = new Gauge({ name: 'islet_warm_isolates', help: 'Isolates alive (idle or busy) across the process.', registers: [this.registry] });
  readonly #heap = new Gauge({ name: 'islet_isolate_heap_bytes', help: 'Heap used by all isolates.', registers: [this.registry] });
  readonly #fnWarm = new Gauge({ name: 'islet_function_warm_isolates', help: 'Isolates alive per function.', labelNames: ['function'] as const, registers: [this.registry] });
  readonly #fnBusy = new Gauge({ name: 'islet_function_concurrent_executions', help: 'Busy isolates per function.', labelNames: ['function'] as const, registers: [this.registry] });

  readonly #queueDepth = new Gauge({ name: 'islet_async_queue_depth', help: 'Async events waiting per function.', labelNames: ['function'] as const, registers: [this.registry] });
  readonly #eventAge = new Histogram({ name: 'islet_async_event_age_seconds', help: 'Time from enqueue to invocation start of async events.', labelNames: ['function'] as const, buckets: EVENT_AGE_BUCKETS_S, registers: [this.registry] });
  readonly #deadLettered = new Counter({ name: 'islet_events_dead_lettered_total', help: 'Async events moved to the dead-letter stream.', labelNames: ['function'] as const, registers: [this.registry] });
  readonly #destinationFailures = new Counter({ name: 'islet_destination_delivery_failures_total', help: 'Destination deliveries that failed for good, by destination kind.', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly #batchSize = new Histogram({ name: 'islet_event_source_batch_size', help: 'Messages per event-source batch.', labelNames: ['mapping'] as const, buckets: BATCH_SIZE_BUCKETS, registers: [this.registry] });
  readonly #lag = new Gauge({ name: 'islet_event_source_lag', help: 'Messages of a mapping\'s source not yet delivered.', labelNames: ['mapping'] as const, registers: [this.registry] });
  readonly #logDropped = new Counter({ name: 'islet_log_records_dropped_total', help: 'Log records dropped because the log store was slow or unreachable.', registers: [this.registry] });

  constructor(options: MetricsOptions = {}) {
    this.#runtimeStats = options.runtimeStats;
    this.#logStore = options.logStore;
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Sets where the isolate gauges come from (the runtime is built after the metrics). */
  setRuntimeStats(source: () => RuntimeStats): void {
    this.#runtimeStats = source;
  }

  /** Sets the log store whose dropped records are counted. */
  setLogStore(store: { readonly dropped: number }): void {
    this.#logStore = store;
  }

  /** The text format body of `GET /metrics`. */
  async render(): Promise<string> {
    this.#collect();
    return this.registry.metrics();
  }

  /** The Content-Type of {@link render}'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }

  #collect(): void {
    const stats = this.#runtimeStats?.();
    if (stats) {
      this.#concurrent.set(stats.inFlight);
      this.#executing.set(stats.executing);
      this.#warm.set(stats.warmIsolates);
      this.#heap.set(stats.heapUsedBytes);
      // Reset first so functions without isolates drop out instead of reporting stale values.
      this.#fnWarm.reset();
      this.#fnBusy.reset();
      for (const f of stats.perFunction) {
        this.#fnWarm.set({ function: f.functionName }, f.warm);
        this.#fnBusy.set({ function: f.functionName }, f.busy);
      }
    }
    const dropped = this.#logStore?.dropped ?? 0;
    if (dropped > this.#logDroppedSeen) this.#logDropped.inc(dropped - this.#logDroppedSeen);
    this.#logDroppedSeen = Math.max(this.#logDroppedSeen, dropped);
  }

  onStart(info: { functionName: string; cold: boolean }): void {
    if (info.cold) this.#coldStarts.inc({ function: info.functionName });
  }

  onReport(report: InvocationReport): void {
    const fn = report.functionName;
    // Throttles are counted by onThrottle; a throttled report (if the runtime sends one) is not counted twice.
    if (report.outcome === 'throttled') return;
    this.#invocations.inc({ function: fn, outcome: report.outcome, trigger: report.trigger });
    if (ERROR_OUTCOMES.has(report.outcome)) this.#errors.inc({ function: fn, outcome: report.outcome });
    this.#duration.observe({ function: fn }, report.durationMs / 1000);
    if (report.initDurationMs !== undefined) this.#init.observe({ function: fn }, report.initDurationMs / 1000);
    if (report.memoryUsedMb > 0) this.#memoryUsed.observe({ function: fn }, report.memoryUsedMb * 1024 * 1024);
  }

  onThrottle(info: { functionName: string; trigger: Trigger }): void {
    this.#throttles.inc({ function: info.functionName, trigger: info.trigger });
    this.#invocations.inc({ function: info.functionName, outcome: 'throttled', trigger: info.trigger });
  }

  onIsolateDiscard(info: { functionName: string; reason: DiscardReason }): void {
    this.#discards.inc({ function: info.functionName, reason: info.reason });
  }

  asyncQueueDepth(functionName: string, depth: number): void {
    this.#queueDepth.set({ function: functionName }, depth);
  }

  asyncEventAge(functionName: string, ageMs: number): void {
    this.#eventAge.observe({ function: functionName }, Math.max(0, ageMs) / 1000);
  }

  eventDeadLettered(functionName: string): void {
    this.#deadLettered.inc({ function: functionName });
  }

  destinationFailed(kind: string): void {
    this.#destinationFailures.inc({ kind });
  }

  batchProcessed(mappingId: string, size: number): void {
    this.#batchSize.observe({ mapping: mappingId }, size);
  }

  eventSourceLag(mappingId: string, pending: number): void {
    this.#lag.set({ mapping: mappingId }, pending);
  }
}
