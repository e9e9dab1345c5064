import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager, type MsgRequest } from '@nats-io/jetstream';
import { eventually } from './eventually.ts';

/** A record as a destination receives it (the fields tests look at). */
export interface TestRecord {
  version: string;
  requestContext: { requestId: string; functionName: string; condition: string; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext: { statusCode: number; functionError?: string };
  responsePayload: unknown;
}

/** A test-side NATS client with a `REC` stream on `rec.>` that keeps destination records. */
export interface RecordSink {
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** Every record published on `rec.<name>` so far. */
  records(name: string): Promise<TestRecord[]>;
  /** Waits until at least `count` records arrived on `rec.<name>`. */
  waitForRecords(name: string, count: number, timeoutMs?: number): Promise<TestRecord[]>;
  close(): Promise<void>;
}

/** Connects to the test NATS and creates the `REC` stream. */
export async function recordSink(url: string): Promise<RecordSink> {
  const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'REC', subjects: ['rec.>'] });
  const records = async (name: string) => {
    const out: TestRecord[] = [];
    let seq = 1;
    for (;;) {
      let stored;
      try {
        stored = await jsm.streams.getMessage('REC', { seq, next_by_subj: `rec.${name}` } as unknown as MsgRequest);
      } catch (err) {
        if (/no message found/i.test((err as Error).message)) break;
        throw err;
      }
      if (!stored) break;
      out.push(stored.json<TestRecord>());
      seq = stored.seq + 1;
    }
    return out;
  };
  return {
    nc, jsm, records,
    waitForRecords: (name, count, timeoutMs = 30_000) => waitFor(async () => {
      const got = await records(name);
      return got.length >= count ? got : undefined;
    }, timeoutMs, `${count} record(s) on rec.${name}`),
    close: () => nc.close(),
  };
}

/** Polls `check` until it returns a value other than undefined/false. */
export const waitFor = <T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, what = 'condition'): Promise<T> =>
  eventually(what, check, timeoutMs, 100);
