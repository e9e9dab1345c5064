import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

/** Where an async invocation stands. */
export const InvocationStates = {
  queued: 'queued', running: 'running', retrying: 'retrying', succeeded: 'succeeded', failed: 'failed', deadLettered: 'dead-lettered',
} as const;
export type InvocationState = (typeof InvocationStates)[keyof typeof InvocationStates];

/** `GET /v1/invocations/:requestId`. */
export interface InvocationStatus {
  requestId: string;
  functionName: string;
  state: InvocationState;
  attempts: number;
  enqueuedAt: string;
  updatedAt: string;
  lastError?: string;
}

/** Request ids we can use as KV keys; anything else is simply unknown. */
const KEY_PATTERN = /^[A-Za-z0-9_=-][A-Za-z0-9_=.-]{0,127}$/;

/** Invocation status in a JetStream KV bucket (bucket-level TTL, so old entries expire). */
export class InvocationStatusStore {
  readonly #kv: KV;
  readonly #nc: NatsConnection;
  readonly #bucket: string;

  constructor(kv: KV, nc: NatsConnection, bucket: string) {
    this.#kv = kv;
    this.#nc = nc;
    this.#bucket = bucket;
  }

  /**
   * Writes without waiting for JetStream's ack (a core publish to the bucket's subject): status
   * is informational, and publishes on one connection are stored in order. Saves a round trip
   * and a reply subscription per transition.
   */
  put(status: InvocationStatus): void {
    if (!KEY_PATTERN.test(status.requestId)) return;
    this.#nc.publish(`$KV.${this.#bucket}.${status.requestId}`, JSON.stringify(status));
  }

  async get(requestId: string): Promise<InvocationStatus | undefined> {
    if (!KEY_PATTERN.test(requestId) || requestId.endsWith('.')) return undefined;
    const entry = await this.#kv.get(requestId);
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    return entry.json<InvocationStatus>();
  }

  async delete(requestId: string): Promise<void> {
    if (KEY_PATTERN.test(requestId)) await this.#kv.delete(requestId);
  }
}
