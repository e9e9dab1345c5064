import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Config } from './config.ts';
import { DEFAULT_QUEUE_WAIT_MS } from './defaults.ts';
import { AsyncQueue } from './events/async/index.ts';
import { NatsEvents, NatsModes } from './events/connection.ts';
import { deliverRecord } from './events/destinations.ts';
import { EventSourceManager } from './events/sources/index.ts';
import { createApp } from './http/index.ts';
import type { AppEnv } from './http/index.ts';
import { asyncRoutes } from './http/routes/async.ts';
import { eventSourceRoutes } from './http/routes/event-sources.ts';
import { logRoutes } from './http/routes/logs.ts';
import { metricsRoutes } from './http/routes/metrics.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { ActiveLogStore, LogRecorder, MemoryLogStore, Metrics, fanOutObserver, useJetStreamLogsWhenConnected } from './observability/index.ts';
import { FileStore, FunctionRegistry, FUNCTIONS_COLLECTION } from './registry/index.ts';
import { FunctionRuntime } from './runtime/index.ts';

/** How long close() lets in-flight requests finish before it cuts their connections. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** A running islet server. */
export interface IsletServer {
  /** Base URL, e.g. `http://127.0.0.1:8080` (a wildcard HOST is shown as 127.0.0.1). */
  url: string;
  port: number;
  config: Config;
  log: Logger;
  store: FileStore;
  functions: FunctionRegistry;
  runtime: FunctionRuntime;
  app: Hono<AppEnv>;
  /** Prometheus metrics (`GET /metrics`); also the EventMetrics hooks for the event parts. */
  metrics: Metrics;
  /** Function logs and START/END/REPORT records (memory; JetStream once NATS is connected). */
  logs: ActiveLogStore;
  /** The NATS connection (external, embedded or disabled) shared by the event parts. */
  events: NatsEvents;
  /** Event-source mappings (`/v1/event-sources`). */
  eventSources: EventSourceManager;
  /** Async invocations on JetStream. */
  asyncQueue: AsyncQueue;
  /** Stops accepting, lets in-flight requests finish (bounded), then closes runtime and store. */
  close(): Promise<void>;
}

/**
 * Starts islet: config → file store → registry → runtime → HTTP app → listening server.
 * Each step registers its teardown; close() runs them in reverse.
 */
export async function startServer(config: Config, options: { logger?: Logger; shutdownGraceMs?: number } = {}): Promise<IsletServer> {
  const log = options.logger ?? createLogger({ level: config.LOG_LEVEL });
  const teardown: Array<{ name: string; run: () => Promise<void> | void }> = [];
  const closeAll = async (): Promise<void> => {
    for (const step of teardown.reverse()) {
      try {
        await step.run();
      } catch (err) {
        log.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
    teardown.length = 0;
  };

  try {
    // 1. Registry: function configs and code on disk.
    const store = await FileStore.open(config.ISLET_DATA_DIR, { log: log.child({ part: 'registry' }) });
    teardown.push({ name: 'store', run: () => store.close() });

    // 1b. Observability: metrics and function logs. The runtime reports into both through one observer.
    const metrics = new Metrics();
    const logs = new ActiveLogStore(new MemoryLogStore());
    metrics.setLogStore(logs);
    teardown.push({ name: 'logs', run: () => logs.close() });
    const observer = fanOutObserver([metrics, new LogRecorder(logs)], log.child({ part: 'observability' }));

    // 2. Function registry: validates code with the runtime before anything is stored.
    //    (The runtime and the registry need each other; the closures resolve once both exist.)
    let runtime: FunctionRuntime | undefined;
    const functions = new FunctionRegistry({
      store,
      validateCode: (code) => runtime!.validateCode(code),
      log: log.child({ part: 'registry' }),
    });
    teardown.push({ name: 'functions', run: () => functions.close() });

    // 3. Runtime: isolate pools. It looks functions up through the registry's cache.
    const rt = new FunctionRuntime({
      getFunction: (name) => functions.find(name),
      log: log.child({ part: 'runtime' }),
      maxConcurrency: config.ISLET_MAX_CONCURRENCY,
      maxExecuting: config.ISLET_MAX_EXECUTING,
      maxWarmIsolates: config.ISLET_MAX_WARM_ISOLATES,
      idleTtlMs: config.ISLET_IDLE_TTL_MS,
      maxResponseBytes: config.ISLET_MAX_RESPONSE_BYTES,
      maxRequestBytes: config.ISLET_MAX_REQUEST_BYTES,
      queueWaitMs: DEFAULT_QUEUE_WAIT_MS,
      observer,
    });
    runtime = rt;
    teardown.push({ name: 'runtime', run: () => rt.close() });
    // Registry changes (deploys, deletes; other nodes' too with a shared store) retire stale isolates.
    const unwatch = store.watch((change) => {
      if (change.collection === FUNCTIONS_COLLECTION) void rt.onFunctionChanged(change.id);
    });
    teardown.push({ name: 'registry watch', run: unwatch });
    // Provisioned concurrency: start minWarm isolates of functions that ask for them.
    for (const record of await functions.list()) {
      if ((record.config.minWarm ?? 0) > 0) void rt.onFunctionChanged(record.name);
    }

    // 4. Events: NATS (external, embedded or disabled), then the parts that use it. Their
    //    teardown runs before the connection's (reverse order): consumers first, then NATS.
    const events = await NatsEvents.start(config, log.child({ part: 'events' }));
    teardown.push({ name: 'nats', run: () => events.close() });
    const natsStatus = events.status();
    log.info({ nats: natsStatus }, natsStatus.mode === NatsModes.disabled
      ? `events disabled (${natsStatus.note}): async invocations answer 503; set NATS_URL or install nats-server`
      : `events: ${natsStatus.mode} NATS at ${natsStatus.servers.join(',')}${natsStatus.connected ? '' : ' (not reachable yet; retrying)'}`);
    if (events.mode !== NatsModes.disabled) {
      const stopJetStreamLogs = useJetStreamLogsWhenConnected(logs, events, { log: log.child({ part: 'logs' }) });
      // Runs before the connection drains: the last batched log records are published, not dropped.
      teardown.push({ name: 'jetstream logs', run: async () => { stopJetStreamLogs(); await logs.close(); } });
    }
    const asyncQueue = AsyncQueue.start({ events, store, invoker: rt, config, log: log.child({ part: 'events' }), metrics, findFunction: (name) => functions.find(name) });
    teardown.push({ name: 'async queue', run: () => asyncQueue.close() });
    const destinationDeps = { events, asyncInvoker: asyncQueue, log: log.child({ part: 'destinations' }), maxEventBytes: config.ISLET_MAX_EVENT_BYTES };
    const eventSources = new EventSourceManager({
      store,
      invoker: rt,
      nats: events.mode === NatsModes.disabled ? undefined : events,
      log: log.child({ part: 'event-sources' }),
      deliverFailure: (destination, record, dedupId) => deliverRecord(destination, record, destinationDeps, dedupId),
      metrics,
      timing: { ackWaitMs: config.ISLET_EVENT_SOURCE_ACK_WAIT_MS },
    });
    await eventSources.start();
    teardown.push({ name: 'event sources', run: () => eventSources.close() });

    // 5. HTTP: the Hono app on @hono/node-server.
    metrics.setRuntimeStats(() => rt.stats());
    const followShutdown = new AbortController();
    const app = createApp({
      invoker: rt, functions, config, log: log.child({ part: 'http' }), asyncInvoker: asyncQueue,
      extraAdminRoutes: [
        (v1) => logRoutes(v1, { logs, functions, shutdown: followShutdown.signal }),
        (v1) => asyncRoutes(v1, { queue: asyncQueue, functions }),
        (v1) => eventSourceRoutes(v1, eventSources),
      ],
      extraRoutes: [(root) => metricsRoutes(root, metrics)],
    });
    const server = await listen(app, config);
    teardown.push({ name: 'http', run: () => closeHttp(server, options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS) });
    // Runs before the HTTP close: open log follow streams end so they do not hold it up.
    teardown.push({ name: 'log follow streams', run: () => followShutdown.abort() });

    const { port } = server.address() as AddressInfo;
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

    let closing: Promise<void> | undefined;
    return {
      url, port, config, log, store, functions, runtime: rt, app, metrics, logs, events, asyncQueue, eventSources,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function listen(app: Hono<AppEnv>, config: Config): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }) as Server;
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Stops accepting, closes idle keep-alive sockets, and cuts the rest after `graceMs`. */
function closeHttp(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
