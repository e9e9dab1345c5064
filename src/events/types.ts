import type { EventPayload, HttpPayload } from '../invoke/types.ts';

/** What the HTTP layer needs from the async queue. */
export interface AsyncInvoker {
  /**
   * Stores an event for function `name` in JetStream and resolves once JetStream acknowledged it.
   * An HttpPayload is a fire-and-forget HTTP trigger call (`X-Invocation-Type: Event`).
   * Throws IsletError EventsUnavailable when NATS is not there, PayloadTooLarge over the cap.
   * The same idempotency key within the dedup window yields the first request id again.
   */
  enqueue(name: string, payload: EventPayload | HttpPayload, options?: { idempotencyKey?: string }): Promise<{ requestId: string; duplicate: boolean }>;
}
