import autocannon from 'autocannon';
import { percentile } from './stats.ts';

/** What one load run measured. */
export interface LoadFigures {
  requestsPerSecond: number;
  /** Latency percentiles of 2xx answers, from each response's own timing (sub-ms precision). */
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Non-2xx answers, socket errors and timeouts. */
  failures: number;
}

/** Drives `url` with autocannon for `durationS` seconds over `connections` keep-alive connections. */
export async function drive(url: string, options: { connections: number; durationS: number }): Promise<LoadFigures> {
  const times: number[] = [];
  const instance = autocannon({ url, connections: options.connections, duration: options.durationS, timeout: 30 });
  // autocannon's own histogram keeps whole milliseconds: too coarse for a sub-ms hello world.
  instance.on('response', (_client, status, _bytes, responseTime) => {
    if (status >= 200 && status < 300) times.push(responseTime);
  });
  const result = await instance;
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    requests: result.requests.total,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}
