// Async enqueue: POST /v1/functions/:name/invoke with X-Invocation-Type: Event at a constant
// rate. islet answers 202 only after JetStream stored the event, so this measures durable
// enqueue latency; the function runs later, off the request path.
//   k6 run -e ISLET_URL=http://localhost:8080 -e ISLET_ADMIN_TOKEN=… -e RATE=200 load-tests/async-enqueue.ts
import http from 'k6/http';
import { check } from 'k6';
import type { Options } from 'k6/options';
import { adminHeaders, deleteFunction, deployFunction, requireHealthy } from './lib/admin.ts';
import { DURATION, ISLET_URL, KEEP, RATE, RUN_ID } from './lib/env.ts';
import { ASYNC_SINK } from './lib/functions.ts';

const FN = `k6-async-${RUN_ID}`;

export const options: Options = {
  scenarios: {
    enqueue: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: DURATION, preAllocatedVUs: Math.min(50, RATE), maxVUs: Math.max(100, RATE * 2) },
  },
  thresholds: {
    // One JetStream publish + ack (fsync policy of the server) per request.
    'http_req_duration{scenario:enqueue}': ['p(95)<100', 'p(99)<250'],
    'http_req_failed{scenario:enqueue}': ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

export function setup(): { fn: string } {
  requireHealthy();
  deployFunction(FN, { code: ASYNC_SINK });
  return { fn: FN };
}

export default function (data: { fn: string }): void {
  const res = http.post(`${ISLET_URL}/v1/functions/${data.fn}/invoke`, JSON.stringify({ n: __ITER }), {
    headers: adminHeaders({ 'x-invocation-type': 'Event' }),
  });
  check(res, {
    'status is 202': (r) => r.status === 202,
    'has a requestId': (r) => {
      try {
        return typeof (r.json() as { requestId?: unknown }).requestId === 'string';
      } catch {
        return false;
      }
    },
  });
}

export function teardown(data: { fn: string }): void {
  if (!KEEP) deleteFunction(data.fn);
}
