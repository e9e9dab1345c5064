// Mixed traffic: several function shapes at different weights on one arrival rate, each
// request tagged with its function so the summary shows them apart.
//   k6 run -e ISLET_URL=http://localhost:8080 -e RATE=100 -e DURATION=1m load-tests/mixed.ts
import http from 'k6/http';
import { check } from 'k6';
import type { Options } from 'k6/options';
import { deleteFunction, deployFunction, requireHealthy, warm } from './lib/admin.ts';
import { DURATION, ISLET_URL, KEEP, RATE, RUN_ID } from './lib/env.ts';
import { CPU_WORK, EDGE_HELLO, IO_WAIT, LAMBDA_ECHO } from './lib/functions.ts';

interface Shape { fn: string; weight: number; code: string; request: (fn: string) => ReturnType<typeof http.get> }

const SHAPES: Shape[] = [
  { fn: `k6-mix-hello-${RUN_ID}`, weight: 60, code: EDGE_HELLO, request: (fn) => http.get(`${ISLET_URL}/fn/${fn}/`, { tags: { fn: 'hello' } }) },
  {
    fn: `k6-mix-echo-${RUN_ID}`, weight: 20, code: LAMBDA_ECHO,
    request: (fn) => http.post(`${ISLET_URL}/fn/${fn}/orders`, JSON.stringify({ id: 42, items: ['a', 'b'] }), { headers: { 'content-type': 'application/json' }, tags: { fn: 'echo' } }),
  },
  { fn: `k6-mix-cpu-${RUN_ID}`, weight: 10, code: CPU_WORK, request: (fn) => http.get(`${ISLET_URL}/fn/${fn}/?n=30`, { tags: { fn: 'cpu' } }) },
  { fn: `k6-mix-io-${RUN_ID}`, weight: 10, code: IO_WAIT, request: (fn) => http.get(`${ISLET_URL}/fn/${fn}/?ms=20`, { tags: { fn: 'io' } }) },
];
const TOTAL_WEIGHT = SHAPES.reduce((sum, s) => sum + s.weight, 0);

export const options: Options = {
  scenarios: {
    mixed: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: DURATION, preAllocatedVUs: Math.min(50, RATE), maxVUs: Math.max(100, RATE * 2) },
  },
  thresholds: {
    'http_req_failed{scenario:mixed}': ['rate<0.01'],
    'http_req_duration{fn:hello}': ['p(95)<50'],
    'http_req_duration{fn:echo}': ['p(95)<75'],
    'http_req_duration{fn:cpu}': ['p(95)<250'],
    // 20 ms of waiting plus overhead.
    'http_req_duration{fn:io}': ['p(95)<100'],
    checks: ['rate>0.99'],
  },
};

export function setup(): void {
  requireHealthy();
  for (const s of SHAPES) deployFunction(s.fn, { code: s.code });
  for (const s of SHAPES) warm(s.fn, 3);
}

function pick(): Shape {
  let r = Math.random() * TOTAL_WEIGHT;
  for (const s of SHAPES) {
    r -= s.weight;
    if (r < 0) return s;
  }
  return SHAPES[0]!;
}

export default function (): void {
  const shape = pick();
  const res = shape.request(shape.fn);
  check(res, { 'status is 200': (r) => r.status === 200 });
}

export function teardown(): void {
  if (!KEEP) for (const s of SHAPES) deleteFunction(s.fn);
}
