/**
 * Delay before retry number `attempt` (1 = first retry): `baseMs * 2^(attempt-1)`, capped at
 * `maxMs`, with "equal jitter" (half fixed, half random) so retries of many events spread out.
 */
export function retryDelayMs(attempt: number, backoff: { baseMs: number; maxMs: number }, random: () => number = Math.random): number {
  const exp = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
