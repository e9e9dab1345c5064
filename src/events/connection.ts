import { connect, credsAuthenticator, type Authenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { readFile } from 'node:fs/promises';
import type { Config } from '../config.ts';
import { IsletError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { EmbeddedNatsServer, natsServerOnPath } from './embedded.ts';

/** Where events go: an external NATS (NATS_URL), an embedded child nats-server, or nowhere. */
export const NatsModes = { external: 'external', embedded: 'embedded', disabled: 'disabled' } as const;
export type NatsMode = (typeof NatsModes)[keyof typeof NatsModes];

/** How long start() waits for the first connection before it returns and keeps trying in the background. */
export const DEFAULT_FIRST_CONNECT_WAIT_MS = 5_000;
/** Pause between reconnect attempts. */
const RECONNECT_TIME_WAIT_MS = 1_000;

/** What the startup log and /healthz print about NATS. */
export interface NatsStatus {
  mode: NatsMode;
  /** Server URLs (credentials never included). */
  servers: string[];
  connected: boolean;
  /** Why events are disabled, or how to enable them. */
  note?: string;
}

/** The message of every EventsUnavailable error: says how to fix it. */
export const EVENTS_UNAVAILABLE_HINT = 'set NATS_URL to a NATS server with JetStream, or install nats-server on PATH (ISLET_EMBEDDED_NATS=auto)';

/** An EventsUnavailable error with the fix in its message. */
export function eventsUnavailable(reason: string, cause?: unknown): IsletError {
  return new IsletError('EventsUnavailable', `${reason}: ${EVENTS_UNAVAILABLE_HINT}`, { cause });
}

/** Options for {@link NatsEvents.start}. */
export interface NatsEventsOptions {
  /** @default DEFAULT_FIRST_CONNECT_WAIT_MS */
  firstConnectWaitMs?: number;
  /** Override PATH detection (tests). */
  embeddedAvailable?: boolean;
}

/**
 * The NATS connection shared by the async queue and event sources. `nc`, `js`, `jsm` throw
 * EventsUnavailable until the first connection exists (or when disabled); `available()` says
 * whether NATS is reachable right now. The client reconnects forever.
 */
export class NatsEvents {
  readonly mode: NatsMode;
  readonly #log: Logger;
  readonly #servers: string[];
  readonly #note: string | undefined;
  #embedded: EmbeddedNatsServer | undefined;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #jsm: JetStreamManager | undefined;
  #connected = false;
  #closed = false;
  #pending: Promise<void> | undefined;
  readonly #listeners = new Set<() => void>();

  private constructor(mode: NatsMode, servers: string[], log: Logger, note?: string) {
    this.mode = mode;
    this.#servers = servers;
    this.#log = log;
    this.#note = note;
  }

  /** Picks the mode from config, starts the embedded server if needed, and connects. Never throws for an unreachable NATS. */
  static async start(config: Config, log: Logger, options: NatsEventsOptions = {}): Promise<NatsEvents> {
    const natsLog = log.child({ component: 'nats' });
    let events: NatsEvents;
    let embedded: EmbeddedNatsServer | undefined;
    if (config.NATS_URL) {
      const servers = config.NATS_URL.split(',').map((s) => s.trim()).filter(Boolean);
      events = new NatsEvents(NatsModes.external, servers, natsLog);
    } else if (config.ISLET_EMBEDDED_NATS === 'auto' && (options.embeddedAvailable ?? natsServerOnPath())) {
      embedded = await EmbeddedNatsServer.start(config.ISLET_DATA_DIR, natsLog);
      events = new NatsEvents(NatsModes.embedded, [embedded.url], natsLog);
      events.#embedded = embedded;
    } else {
      const note = config.ISLET_EMBEDDED_NATS === 'off' ? 'NATS_URL is unset and ISLET_EMBEDDED_NATS=off' : 'NATS_URL is unset and nats-server is not on PATH';
      return new NatsEvents(NatsModes.disabled, [], natsLog, note);
    }
    const auth = await authenticator(config);
    events.#pending = events.#connect(auth);
    const waitMs = options.firstConnectWaitMs ?? DEFAULT_FIRST_CONNECT_WAIT_MS;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([events.#pending, new Promise<void>((r) => { timer = setTimeout(r, waitMs); })]);
    clearTimeout(timer);
    if (!events.#connected) natsLog.warn({ servers: events.#servers }, 'NATS not reachable yet; retrying in the background (async invocations answer 503 until then)');
    return events;
  }

  /**
   * Dials until the first connection succeeds (our own loop instead of `waitOnFirstConnect`, so
   * close() can stop it); after that the client itself reconnects forever.
   */
  async #connect(auth: Partial<ConnectionOptions>): Promise<void> {
    let warned = false;
    while (!this.#closed) {
      try {
        const nc = await connect({
          servers: this.#servers,
          name: 'islet',
          maxReconnectAttempts: -1,
          reconnectTimeWait: RECONNECT_TIME_WAIT_MS,
          // Every JetStream publish is a request; with async traces on, each one builds two Error
          // objects (stack captures) up front, a large share of the CPU of a PubAck round trip.
          // Request errors still carry their message and cause.
          noAsyncTraces: true,
          ...auth,
        });
        if (this.#closed) { await nc.close(); return; }
        this.#nc = nc;
        this.#js = jetstream(nc);
        try {
          this.#jsm = await jetstreamManager(nc);
        } catch (err) {
          await nc.close().catch(() => undefined);
          throw new Error('the NATS server has no JetStream (start it with -js)', { cause: err });
        }
        this.#connected = true;
        this.#log.info({ mode: this.mode, server: nc.getServer() }, 'NATS connected');
        void this.#watchStatus(nc);
        this.#notify();
        return;
      } catch (err) {
        if (!warned && this.mode === NatsModes.external) this.#log.warn({ err: (err as Error).message }, 'NATS connect failed; retrying');
        warned = true;
        await new Promise((r) => setTimeout(r, this.mode === NatsModes.embedded ? 100 : RECONNECT_TIME_WAIT_MS));
      }
    }
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.#connected = false;
        if (!this.#closed) this.#log.warn({ server: s.server }, 'NATS disconnected; reconnecting');
      } else if (s.type === 'reconnect') {
        this.#connected = true;
        this.#log.info({ server: s.server }, 'NATS reconnected');
        this.#notify();
      }
    }
    this.#connected = false;
  }

  #notify(): void {
    for (const listener of this.#listeners) {
      try { listener(); } catch (err) { this.#log.error({ err }, 'NATS connect listener failed'); }
    }
  }

  /** True when NATS is connected right now. */
  available(): boolean {
    return this.#connected && !this.#closed;
  }

  /**
   * Calls `listener` after the first connection and after every reconnect (to create streams and
   * consumers again, e.g. when an embedded server lost its store). Returns an unsubscribe.
   */
  onConnect(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (this.#connected) queueMicrotask(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The core connection. Throws EventsUnavailable when disabled or not connected yet. */
  get nc(): NatsConnection {
    if (!this.#nc) throw this.#unavailable();
    return this.#nc;
  }

  /** JetStream client. Throws EventsUnavailable when disabled or not connected yet. */
  get js(): JetStreamClient {
    if (!this.#js) throw this.#unavailable();
    return this.#js;
  }

  /** JetStream manager. Throws EventsUnavailable when disabled or not connected yet. */
  get jsm(): JetStreamManager {
    if (!this.#jsm) throw this.#unavailable();
    return this.#jsm;
  }

  /** Throws EventsUnavailable (with the fix in the message) unless NATS is connected now. */
  assertAvailable(): void {
    if (!this.available()) throw this.#unavailable();
  }

  #unavailable(): IsletError {
    if (this.mode === NatsModes.disabled) return eventsUnavailable(`Events are disabled (${this.#note})`);
    if (this.#closed) return new IsletError('ShuttingDown', 'The server is shutting down.');
    return eventsUnavailable(`NATS (${this.#servers.join(', ')}) is not reachable right now`);
  }

  /** Mode, servers, connection state: for the startup log and health output. */
  status(): NatsStatus {
    return { mode: this.mode, servers: [...this.#servers], connected: this.available(), ...(this.#note ? { note: this.#note } : {}) };
  }

  /** Drains the connection, then stops the embedded server. Close consumers before this. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    const nc = this.#nc;
    if (nc && !nc.isClosed()) {
      try { await nc.drain(); } catch { await nc.close().catch(() => undefined); }
    }
    await this.#embedded?.stop();
  }
}

async function authenticator(config: Config): Promise<Partial<ConnectionOptions>> {
  if (config.NATS_CREDS) {
    const creds = await readFile(config.NATS_CREDS);
    const auth: Authenticator = credsAuthenticator(new Uint8Array(creds));
    return { authenticator: auth };
  }
  if (config.NATS_TOKEN) return { token: config.NATS_TOKEN };
  if (config.NATS_USER) return { user: config.NATS_USER, pass: config.NATS_PASS ?? '' };
  return {};
}
