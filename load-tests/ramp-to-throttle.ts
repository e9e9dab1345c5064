// Ramp to throttle: the arrival rate climbs linearly from START_RATE to MAX_RATE over DURATION
// against a function that holds its isolate for HOLD_MS, capped by reservedConcurrency
// (RESERVED; 0 = no reservation, so the process-wide cap decides). The rate at which the first
// 429 answers appear is reported as throttle_onset_rate (its min); with RESERVED=R and
// HOLD_MS=H, theory says about R / (H / 1000) requests/s.
//   k6 run -e ISLET_URL=http://localhost:8080 -e MAX_RATE=500 -e DURATION=1m load-tests/ramp-to-throttle.ts
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import { deleteFunction, deployFunction, requireHealthy, warm } from './lib/admin.ts';
import { DURATION, ISLET_URL, KEEP, RATE, RUN_ID, durationSeconds, intSetting, positiveInt } from './lib/env.ts';
import { IO_WAIT } from './lib/functions.ts';

const FN = `k6-throttle-${RUN_ID}`;
const START_RATE = positiveInt('START_RATE', 10);
const MAX_RATE = positiveInt('MAX_RATE', Math.max(RATE * 5, START_RATE + 1));
const RESERVED = intSetting('RESERVED', 4, 0);
const HOLD_MS = positiveInt('HOLD_MS', 50);
const RAMP_S = durationSeconds(DURATION);

const throttled = new Counter('throttled_requests');
const onset = new Trend('throttle_onset_rate');

// 429 is an expected answer here, not a failure.
http.setResponseCallback(http.expectedStatuses(200, 429));

export const options: Options = {
  scenarios: {
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: START_RATE,
      timeUnit: '1s',
      preAllocatedVUs: 50,
      maxVUs: Math.max(200, MAX_RATE),
      stages: [{ target: MAX_RATE, duration: DURATION }],
    },
  },
  thresholds: {
    'http_req_failed{scenario:ramp}': ['rate<0.01'],
    // Every 429 carries Retry-After, every other answer is the function's.
    checks: ['rate>0.99'],
  },
};

export function setup(): void {
  requireHealthy();
  deployFunction(FN, { code: IO_WAIT, ...(RESERVED > 0 ? { reservedConcurrency: RESERVED } : {}) });
  warm(FN, 2, `/?ms=1`);
}

export default function (): void {
  const res = http.get(`${ISLET_URL}/fn/${FN}/?ms=${HOLD_MS}`);
  check(res, {
    '200 from the function or 429 with Retry-After': (r) => r.status === 200 || (r.status === 429 && r.headers['Retry-After'] !== undefined),
  });
  if (res.status === 429) {
    throttled.add(1);
    // The offered rate at this moment of the linear ramp.
    const elapsedS = (Date.now() - exec.scenario.startTime) / 1000;
    onset.add(START_RATE + ((MAX_RATE - START_RATE) * Math.min(elapsedS, RAMP_S)) / RAMP_S);
  }
}

export function teardown(): void {
  if (!KEEP) deleteFunction(FN);
}
