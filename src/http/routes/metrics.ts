import type { Hono } from 'hono';
import type { AppEnv } from '../types.ts';

/** What `GET /metrics` renders. */
export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

/**
 * `GET /metrics`: Prometheus text format. Outside `/v1` and its auth, like `/healthz` (scrapers
 * rarely carry tokens); restrict it at the network edge if function names are sensitive.
 * Register with `extraRoutes: [(app) => metricsRoutes(app, metrics)]`.
 */
export function metricsRoutes(app: Hono<AppEnv>, metrics: MetricsSource): void {
  app.get('/metrics', async () => new Response(await metrics.render(), {
    status: 200,
    headers: { 'content-type': metrics.contentType, 'cache-control': 'no-store' },
  }));
}
