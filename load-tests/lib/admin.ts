// Thin wrappers over islet's admin API (/v1) for setup() and teardown(). They fail loudly:
// a load test against a function that was never deployed measures nothing.
import http, { type RefinedResponse, type ResponseType } from 'k6/http';
import { sleep } from 'k6';
import { ISLET_ADMIN_TOKEN, ISLET_URL } from './env.ts';

/** JSON + bearer headers for /v1 calls. */
export function adminHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...extra };
  if (ISLET_ADMIN_TOKEN) headers.authorization = `Bearer ${ISLET_ADMIN_TOKEN}`;
  return headers;
}

/** Fields of `PUT /v1/functions/:name`. */
export interface DeployBody {
  code: string;
  memoryMb?: number;
  timeoutMs?: number;
  env?: Record<string, string>;
  reservedConcurrency?: number | null;
  minWarm?: number | null;
  description?: string;
}

type Res = RefinedResponse<ResponseType | undefined>;

function expectStatus(res: Res, ok: number[], what: string): Res {
  if (!ok.includes(res.status)) {
    const body = typeof res.body === 'string' ? res.body.slice(0, 300) : '';
    throw new Error(`${what}: HTTP ${res.status} ${body || res.error}`);
  }
  return res;
}

// Admin calls made by setup/teardown are tagged so thresholds on the measured traffic skip them.
const ADMIN_TAGS = { phase: 'admin' };

/** Creates or replaces a function; throws unless islet answers 200/201. */
export function deployFunction(name: string, body: DeployBody): void {
  const res = http.put(`${ISLET_URL}/v1/functions/${name}`, JSON.stringify(body), { headers: adminHeaders(), tags: ADMIN_TAGS });
  expectStatus(res, [200, 201], `deploy ${name}`);
}

/** Deletes a function; a missing one is fine. */
export function deleteFunction(name: string): void {
  const res = http.del(`${ISLET_URL}/v1/functions/${name}`, null, { headers: adminHeaders(), tags: ADMIN_TAGS });
  expectStatus(res, [200, 204, 404], `delete ${name}`);
}

/** Sends `count` trigger requests so the function has a warm isolate before measuring. */
export function warm(name: string, count = 5, path = '/'): void {
  for (let i = 0; i < count; i++) {
    const res = http.get(`${ISLET_URL}/fn/${name}${path}`, { tags: ADMIN_TAGS });
    expectStatus(res, [200], `warm ${name}`);
  }
}

/** `PUT /v1/functions/:name/async-config`. */
export function putAsyncConfig(name: string, config: Record<string, unknown>): void {
  const res = http.put(`${ISLET_URL}/v1/functions/${name}/async-config`, JSON.stringify(config), { headers: adminHeaders(), tags: ADMIN_TAGS });
  expectStatus(res, [200, 201], `async-config ${name}`);
}

/** What the scripts read of an event-source mapping. */
export interface EventSourceView {
  id: string;
  state: string;
  counters: { processed: number; invocations?: number; [k: string]: number | undefined };
}

/** `POST /v1/event-sources`; returns the mapping. */
export function createEventSource(body: Record<string, unknown>): EventSourceView {
  const res = http.post(`${ISLET_URL}/v1/event-sources`, JSON.stringify(body), { headers: adminHeaders(), tags: ADMIN_TAGS });
  return expectStatus(res, [200, 201], 'create event source').json() as unknown as EventSourceView;
}

/** `GET /v1/event-sources/:id`. */
export function getEventSource(id: string): EventSourceView {
  const res = http.get(`${ISLET_URL}/v1/event-sources/${id}`, { headers: adminHeaders(), tags: ADMIN_TAGS });
  return expectStatus(res, [200], `event source ${id}`).json() as unknown as EventSourceView;
}

/** `DELETE /v1/event-sources/:id`; a missing one is fine. */
export function deleteEventSource(id: string): void {
  const res = http.del(`${ISLET_URL}/v1/event-sources/${id}`, null, { headers: adminHeaders(), tags: ADMIN_TAGS });
  expectStatus(res, [200, 404], `delete event source ${id}`);
}

/** Fails setup early, with a clear message, when islet is not reachable. */
export function requireHealthy(): void {
  for (let i = 0; i < 10; i++) {
    const res = http.get(`${ISLET_URL}/healthz`, { tags: ADMIN_TAGS });
    if (res.status === 200) return;
    sleep(1);
  }
  throw new Error(`islet is not healthy at ${ISLET_URL}/healthz (set ISLET_URL)`);
}
