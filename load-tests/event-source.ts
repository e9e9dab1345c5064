// Event-source throughput. Messages reach NATS through islet itself: a "publisher" function is
// invoked asynchronously at RATE and its onSuccess destination (nats:<subject>) publishes one
// record per event; an event-source mapping on that subject delivers them in batches to a
// "consumer" function. teardown waits until the mapping's processed counter stops growing and
// reports messages/s as event_source_messages_per_second.
//   k6 run -e ISLET_URL=http://localhost:8080 -e ISLET_ADMIN_TOKEN=… -e RATE=200 -e BATCH=100 load-tests/event-source.ts
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import {
  adminHeaders, createEventSource, deleteEventSource, deleteFunction, deployFunction, getEventSource, putAsyncConfig, requireHealthy,
} from './lib/admin.ts';
import { DURATION, ISLET_URL, KEEP, RATE, RUN_ID, durationSeconds, positiveInt } from './lib/env.ts';
import { ASYNC_SINK, QUEUE_SINK } from './lib/functions.ts';

const PUBLISHER = `k6-es-pub-${RUN_ID}`;
const CONSUMER = `k6-es-sink-${RUN_ID}`;
const SUBJECT = `k6.es.${RUN_ID}`;
const BATCH = positiveInt('BATCH', 100);
/** Seconds teardown waits for the consumer to catch up once publishing stopped. */
const DRAIN_S = positiveInt('DRAIN_S', 60);

const processed = new Counter('event_source_messages_processed');
const throughput = new Trend('event_source_messages_per_second');

export const options: Options = {
  teardownTimeout: `${DRAIN_S + 30}s`,
  scenarios: {
    publish: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: DURATION, preAllocatedVUs: Math.min(50, RATE), maxVUs: Math.max(100, RATE * 2) },
  },
  thresholds: {
    'http_req_failed{scenario:publish}': ['rate<0.01'],
    checks: ['rate>0.99'],
    // Every accepted event should come out of the mapping; 90% of the offered rate is the floor.
    event_source_messages_per_second: [`min>${Math.floor(RATE * 0.9)}`],
  },
};

interface Data { mappingId: string; startedAt: number }

export function setup(): Data {
  requireHealthy();
  deployFunction(CONSUMER, { code: QUEUE_SINK });
  deployFunction(PUBLISHER, { code: ASYNC_SINK });
  putAsyncConfig(PUBLISHER, { maxRetryAttempts: 0, onSuccess: `nats:${SUBJECT}` });
  const mapping = createEventSource({ function: CONSUMER, source: { subject: SUBJECT }, batchSize: BATCH, maxBatchingWindowMs: 100 });
  return { mappingId: mapping.id, startedAt: Date.now() };
}

export default function (): void {
  const res = http.post(`${ISLET_URL}/v1/functions/${PUBLISHER}/invoke`, JSON.stringify({ n: __ITER }), {
    headers: adminHeaders({ 'x-invocation-type': 'Event' }),
  });
  check(res, { 'status is 202': (r) => r.status === 202 });
}

export function teardown(data: Data): void {
  // Wait for the tail: stop when the counter has not moved for 5 s (or DRAIN_S passed).
  let last = -1;
  let lastChange = Date.now();
  let lastProgressAt = Date.now();
  const deadline = Date.now() + DRAIN_S * 1000;
  while (Date.now() < deadline && Date.now() - lastChange < 5_000) {
    const now = getEventSource(data.mappingId).counters.processed;
    if (now !== last) {
      last = now;
      lastChange = Date.now();
      lastProgressAt = Date.now();
    }
    sleep(0.5);
  }
  const seconds = Math.max((lastProgressAt - data.startedAt) / 1000, durationSeconds(DURATION));
  processed.add(last);
  throughput.add(last / seconds);
  console.log(`event source: ${last} messages in ${seconds.toFixed(1)} s = ${(last / seconds).toFixed(0)} msg/s (batch ${BATCH})`);
  if (KEEP) return;
  deleteEventSource(data.mappingId);
  deleteFunction(PUBLISHER);
  deleteFunction(CONSUMER);
}
