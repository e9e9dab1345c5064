import type { Invoker } from '../../invoke/types.ts';
import type { Logger } from '../../observability/logger.ts';
import type { EventMetrics } from '../../observability/metrics.ts';
import type { NatsEvents } from '../connection.ts';
import type { DestinationDeps } from '../destinations.ts';
import type { AsyncConfigs } from './config.ts';
import type { DeadLetters } from './dead-letters.ts';
import type { QueuedEvent } from './message.ts';
import type { InvocationState, InvocationStatusStore } from './status.ts';

/** The metric hooks the async queue reports into. */
export type AsyncMetrics = Pick<EventMetrics, 'asyncQueueDepth' | 'asyncEventAge' | 'eventDeadLettered' | 'destinationFailed'>;

/** What a FunctionWorker and the dead-letter store share with the queue that owns them. */
export interface AsyncQueueCore {
  events: NatsEvents;
  invoker: Invoker;
  configs: AsyncConfigs;
  log: Logger;
  metrics: AsyncMetrics;
  /** Clock (epoch ms): injectable so event-age tests need not wait. */
  now(): number;
  /** Undefined until NATS is connected and the bucket exists. */
  readonly status: InvocationStatusStore | undefined;
  deadLetters: DeadLetters;
  destinationDeps: DestinationDeps;
  /** Publishes an event to `islet.async.<fn>` and waits for the JetStream ack. */
  requeue(fn: string, event: QueuedEvent, msgId: string): Promise<void>;
  /** Records a transition (best effort; ordered on the one connection). */
  setStatus(fn: string, event: QueuedEvent, state: InvocationState, attempts: number, lastError?: string): void;
}
