// Cold starts: setup deploys N distinct functions, then a burst hits each one exactly once,
// so every measured request creates an isolate (module compile + evaluation).
//   k6 run -e ISLET_URL=http://localhost:8080 -e COLD_FUNCTIONS=100 load-tests/cold-start.ts
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import { deleteFunction, deployFunction, requireHealthy } from './lib/admin.ts';
import { ISLET_URL, KEEP, RUN_ID, positiveInt } from './lib/env.ts';
import { edgeHello } from './lib/functions.ts';

const COUNT = positiveInt('COLD_FUNCTIONS', 100);
const BURST_VUS = positiveInt('BURST_VUS', Math.min(COUNT, 10));
const name = (i: number) => `k6-cold-${RUN_ID}-${i}`;

/** Client-side time of a first request (cold) in ms. */
const coldStart = new Trend('cold_start_duration', true);

export const options: Options = {
  // Deploying N functions takes a while on a busy machine.
  setupTimeout: `${Math.max(60, COUNT)}s`,
  teardownTimeout: `${Math.max(60, COUNT)}s`,
  scenarios: {
    burst: { executor: 'shared-iterations', vus: BURST_VUS, iterations: COUNT, maxDuration: '5m' },
  },
  thresholds: {
    cold_start_duration: ['p(50)<250', 'p(99)<1000'],
    'http_req_failed{scenario:burst}': ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

export function setup(): { count: number } {
  requireHealthy();
  for (let i = 0; i < COUNT; i++) deployFunction(name(i), { code: edgeHello(i) });
  return { count: COUNT };
}

export default function (): void {
  // Each iteration of the shared pool gets its own index: one request per function.
  const i = exec.scenario.iterationInTest;
  const res = http.get(`${ISLET_URL}/fn/${name(i)}/`);
  coldStart.add(res.timings.duration);
  check(res, {
    'status is 200': (r) => r.status === 200,
    'served by its own function': (r) => r.body === `hello ${i}`,
  });
}

export function teardown(data: { count: number }): void {
  if (KEEP) return;
  for (let i = 0; i < data.count; i++) deleteFunction(name(i));
}
