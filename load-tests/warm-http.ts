// Warm HTTP path: a constant arrival rate against one warmed edge-style hello function.
//   k6 run -e ISLET_URL=http://localhost:8080 -e RATE=200 -e DURATION=30s load-tests/warm-http.ts
import http from 'k6/http';
import { check } from 'k6';
import type { Options } from 'k6/options';
import { deleteFunction, deployFunction, requireHealthy, warm } from './lib/admin.ts';
import { DURATION, ISLET_URL, KEEP, RATE, RUN_ID, positiveInt } from './lib/env.ts';
import { EDGE_HELLO } from './lib/functions.ts';

const FN = `k6-warm-${RUN_ID}`;

export const options: Options = {
  scenarios: {
    warm: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: Math.min(50, RATE),
      maxVUs: positiveInt('MAX_VUS', Math.max(50, RATE * 2)),
    },
  },
  thresholds: {
    // A warm request runs in an existing isolate: tens of microseconds of JS plus HTTP.
    'http_req_duration{scenario:warm}': ['p(95)<50', 'p(99)<150'],
    'http_req_failed{scenario:warm}': ['rate<0.01'],
    checks: ['rate>0.99'],
    // The generator could not keep up: the measured rate is below RATE.
    dropped_iterations: ['count<' + String(Math.max(1, Math.floor(RATE * 0.01)))],
  },
};

export function setup(): { fn: string } {
  requireHealthy();
  deployFunction(FN, { code: EDGE_HELLO });
  warm(FN, 10);
  return { fn: FN };
}

export default function (data: { fn: string }): void {
  const res = http.get(`${ISLET_URL}/fn/${data.fn}/`);
  check(res, {
    'status is 200': (r) => r.status === 200,
    'body is hello': (r) => r.body === 'hello',
  });
}

export function teardown(data: { fn: string }): void {
  if (!KEEP) deleteFunction(data.fn);
}
