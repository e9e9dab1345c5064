/** Minimal admin API client for the bench (loopback, so no token needed). */

/** PUT /v1/functions/:name; throws unless 200/201. */
export async function deploy(url: string, name: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200 && res.status !== 201) throw new Error(`deploy ${name}: HTTP ${res.status} ${text.slice(0, 300)}`);
}

/** GET a trigger path; returns status and body text. */
export async function hit(url: string, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url + path);
  return { status: res.status, body: await res.text() };
}

/** GET a trigger path and throw unless 200. */
export async function hitOk(url: string, path: string): Promise<string> {
  const { status, body } = await hit(url, path);
  if (status !== 200) throw new Error(`GET ${path}: HTTP ${status} ${body.slice(0, 300)}`);
  return body;
}

/** The REPORT record's initDurationMs of a function's cold start, from GET /v1/functions/:name/logs; undefined when not available. */
export async function initDurationMs(url: string, name: string): Promise<number | undefined> {
  const res = await fetch(`${url}/v1/functions/${name}/logs?limit=50`);
  if (res.status !== 200) return undefined;
  const { items } = await res.json() as { items?: Array<{ type?: string; initDurationMs?: number }> };
  return items?.find((r) => r.type === 'report' && typeof r.initDurationMs === 'number')?.initDurationMs;
}
