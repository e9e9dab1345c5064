import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Metrics } from '../src/observability/index.ts';

interface Panel { type: string; title: string; targets?: Array<{ expr: string }> }

describe('Grafana dashboard', () => {
  it('queries only metrics that GET /metrics exposes', async () => {
    const dashboard = JSON.parse(await readFile(new URL('../dashboards/grafana-islet.json', import.meta.url), 'utf8')) as { panels: Panel[] };
    const exposed = new Set([...(await new Metrics().render()).matchAll(/^# TYPE (\S+) (\w+)$/gm)].map((m) => m[1]!));
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    assert.ok(exprs.length >= 20);
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:islet|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!)));
    for (const name of used) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(exposed.has(name) || exposed.has(base), `${name} is not exposed`);
    }
    for (const required of ['islet_invocations_total', 'islet_invocation_duration_seconds_bucket', 'islet_cold_starts_total', 'islet_throttles_total',
      'islet_warm_isolates', 'islet_async_queue_depth', 'islet_events_dead_lettered_total']) {
      assert.ok(used.has(required), `the dashboard shows ${required}`);
    }
  });
});
