import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamLogStore, type JetStreamLogStoreOptions } from './jetstream-log-store.ts';
import type { LogQuery, LogQueryResult, LogStore } from './log-store.ts';
import type { Logger } from './logger.ts';
import type { LogRecord } from './records.ts';

interface Subscription {
  functionName: string;
  listener: (record: LogRecord) => void;
  unsubscribe: () => void;
}

/**
 * The log store the server uses: starts on one store (memory) and can move to another
 * (JetStream, once NATS is connected) without restarting. Live subscriptions move along.
 * Records written before the move stay in the old store and are not queried any more.
 */
export class ActiveLogStore implements LogStore {
  #current: LogStore;
  readonly #retired: LogStore[] = [];
  readonly #subscriptions = new Set<Subscription>();

  constructor(initial: LogStore) {
    this.#current = initial;
  }

  /** The store in use now. */
  get current(): LogStore {
    return this.#current;
  }

  /** Moves to `next`: new records, queries and live subscriptions go there from now on. */
  use(next: LogStore): void {
    if (next === this.#current) return;
    this.#retired.push(this.#current);
    this.#current = next;
    for (const sub of this.#subscriptions) {
      sub.unsubscribe();
      sub.unsubscribe = next.subscribe(sub.functionName, sub.listener);
    }
  }

  /** Live subscriptions (open follow streams). */
  get subscriptions(): number {
    return this.#subscriptions.size;
  }

  get dropped(): number {
    return this.#retired.reduce((n, s) => n + s.dropped, this.#current.dropped);
  }

  append(record: LogRecord): void {
    this.#current.append(record);
  }

  query(functionName: string, query?: LogQuery): Promise<LogQueryResult> {
    return this.#current.query(functionName, query);
  }

  subscribe(functionName: string, listener: (record: LogRecord) => void): () => void {
    const sub: Subscription = { functionName, listener, unsubscribe: this.#current.subscribe(functionName, listener) };
    this.#subscriptions.add(sub);
    return () => {
      sub.unsubscribe();
      this.#subscriptions.delete(sub);
    };
  }

  async close(): Promise<void> {
    for (const sub of this.#subscriptions) sub.unsubscribe();
    this.#subscriptions.clear();
    await Promise.allSettled([this.#current, ...this.#retired.splice(0)].map((s) => s.close()));
  }
}

/** The part of the events connection (src/events NatsEvents) the log store needs; structural, so observability imports no feature folder. */
export interface NatsConnectionSource {
  readonly nc: NatsConnection;
  /** Calls `listener` after the first connection and every reconnect. Returns an unsubscribe. */
  onConnect(listener: () => void): () => void;
}

/**
 * Moves `store` to JetStream (stream ISLET_LOGS) as soon as NATS is connected, and makes sure the
 * stream exists again after every reconnect (an embedded server may have lost its store).
 * Returns an unsubscribe.
 */
export function useJetStreamLogsWhenConnected(store: ActiveLogStore, events: NatsConnectionSource, options: Omit<JetStreamLogStoreOptions, 'nc'> & { log: Logger }): () => void {
  let opening: Promise<void> | undefined;
  let jetStreamStore: JetStreamLogStore | undefined;
  let stopped = false;
  const stop = events.onConnect(() => {
    if (opening || stopped) return;
    opening = (async () => {
      if (jetStreamStore) {
        await jetStreamStore.ensureStream();
        return;
      }
      const opened = await JetStreamLogStore.open({ ...options, nc: events.nc });
      if (stopped) {
        await opened.close();
        return;
      }
      jetStreamStore = opened;
      store.use(opened);
      options.log.info({ stream: opened.stream }, 'function logs go to JetStream');
    })().catch((err: unknown) => {
      options.log.warn({ err: (err as Error).message }, 'could not set up the JetStream log store; function logs stay in memory');
    }).finally(() => { opening = undefined; });
  });
  return () => {
    stopped = true;
    stop();
  };
}
