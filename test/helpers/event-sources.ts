// Test support for event-source tests (imported by *.test.ts only): a real nats-server, a file
// registry in a temp dir, and a scripted Invoker standing in for the runtime.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { TestContext } from 'node:test';
import { startNats, type TestNats } from './nats.ts';
import type { BatchMessage, BatchPayload, InvocationPayload, InvocationResult, Invoker, InvokeOptions } from '../../src/invoke/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { FileStore } from '../../src/registry/file-store.ts';
import { EventSourceManager, type EventSourceManagerDeps } from '../../src/events/sources/manager.ts';
import { eventually } from './eventually.ts';

/** What a scripted batch handler answers: ok, some ids to retry, or a whole failure. */
export type ScriptAnswer = 'ok' | 'error' | { failures: Array<{ id: string; delaySeconds?: number }> } | Error;

/** An Invoker that runs a script per batch and records every call. */
export class ScriptedInvoker implements Invoker {
  readonly calls: Array<{ messages: BatchMessage[]; answer: ScriptAnswer }> = [];
  script: (batch: BatchPayload, call: number) => ScriptAnswer | Promise<ScriptAnswer>;

  constructor(script: ScriptedInvoker['script'] = () => 'ok') {
    this.script = script;
  }

  async invoke(name: string, payload: InvocationPayload, options: InvokeOptions): Promise<InvocationResult> {
    if (payload.kind !== 'batch' || options.trigger !== 'event-source') throw new Error('expected an event-source batch');
    const answer = await this.script(payload, this.calls.length);
    this.calls.push({ messages: payload.messages, answer });
    if (answer instanceof Error) throw answer;
    const requestId = `req-${this.calls.length}`;
    const report = {
      requestId, functionName: name, version: '$LATEST', trigger: options.trigger, startedAt: new Date().toISOString(),
      durationMs: 1, billedDurationMs: 1, memoryLimitMb: 128, memoryUsedMb: 1, outcome: answer === 'error' ? 'error' as const : 'success' as const,
    };
    if (answer === 'error') return { requestId, outcome: 'error', error: { errorType: 'Error', errorMessage: 'scripted failure', trace: [] }, report };
    return { requestId, outcome: 'success', value: { kind: 'batch', failures: answer === 'ok' ? [] : answer.failures }, report };
  }

  /** Bodies of every message in successful calls, in call order. */
  succeededBodies(): string[] {
    return this.calls.filter((c) => c.answer === 'ok').flatMap((c) => c.messages.map((m) => m.body));
  }
}

export interface Harness {
  nats: TestNats;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  store: FileStore;
  invoker: ScriptedInvoker;
  manager: EventSourceManager;
  /** Closes the current manager and starts a new one on the same store (a server restart). */
  restartManager(): Promise<EventSourceManager>;
}

export const FAST_TIMING = { ackWaitMs: 4_000, retryBaseDelayMs: 100, retryMaxDelayMs: 400 };

/** Starts NATS, a store with function `fn`, and a manager; everything is closed after the test. */
export async function harness(t: TestContext, extra: Partial<EventSourceManagerDeps> = {}): Promise<Harness> {
  const nats = await startNats();
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const dir = await mkdtemp(join(tmpdir(), 'islet-esm-'));
  const store = await FileStore.open(dir);
  const now = new Date().toISOString();
  await store.putFunction({
    name: 'fn', config: { memoryMb: 128, timeoutMs: 3000, env: {} }, code: 'export default {}', codeSha256: 'x',
    handlerShape: 'edge', exports: ['queue'], revision: 1, version: '$LATEST', createdAt: now, updatedAt: now,
  });
  const invoker = new ScriptedInvoker();
  const make = () => new EventSourceManager({ store, invoker, nats: { js, jsm }, log: silentLogger(), timing: FAST_TIMING, persistIntervalMs: 100, ...extra });
  const h: Harness = {
    nats, nc, js, jsm, store, invoker, manager: make(),
    async restartManager() {
      await h.manager.close();
      h.manager = make();
      await h.manager.start();
      return h.manager;
    },
  };
  await h.manager.start();
  t.after(async () => {
    await h.manager.close();
    await nc.close();
    await store.close();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return h;
}


/** Publishes bodies to `subject` through JetStream, in order. */
export async function publishAll(js: JetStreamClient, subject: string, bodies: string[]): Promise<void> {
  for (const body of bodies) await js.publish(subject, body);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> => {
  await eventually(what, check, timeoutMs, 25);
};
