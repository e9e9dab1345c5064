import type { Context, Hono } from 'hono';
import { IsletError } from '../errors.ts';
import type { HttpPayload } from '../invoke/types.ts';
import { assertFunctionName } from '../registry/index.ts';
import { readBody, requestHeader } from './body.ts';
import { idempotencyOptions } from './request-id.ts';
import { httpResultResponse, jsonResponse, outcomeError } from './respond.ts';
import type { AppDeps, AppEnv, ClientAddress } from './types.ts';

/**
 * `ANY /fn/:name` and `ANY /fn/:name/*`: public HTTP triggers. The function sees the path after
 * `/fn/:name` and the raw query. `X-Invocation-Type: Event` queues the call and answers 202.
 */
export function triggerRoutes(app: Hono<AppEnv>, deps: AppDeps & { clientAddress: ClientAddress }): void {
  const maxBytes = deps.config.ISLET_MAX_REQUEST_BYTES;

  const handle = async (c: Context<AppEnv>): Promise<Response> => {
    const name = c.req.param('name') ?? '';
    assertFunctionName(name);
    const payload = await httpPayload(c, deps.clientAddress, maxBytes);

    if (requestHeader(c, 'x-invocation-type')?.toLowerCase() === 'event') {
      if (deps.asyncInvoker === undefined) throw eventsUnavailable();
      await deps.functions.get(name); // 404 now, not a dead letter later
      const { requestId } = await deps.asyncInvoker.enqueue(name, payload, idempotencyOptions(requestHeader(c, 'idempotency-key')));
      c.set('requestId', requestId);
      return jsonResponse({ requestId }, 202);
    }

    const result = await deps.invoker.invoke(name, payload, {
      trigger: 'http',
      requestId: c.get('requestId'),
      signal: c.req.raw.signal,
    });
    if (result.outcome !== 'success') throw outcomeError(result);
    const value = result.value;
    if (value?.kind === 'http') return httpResultResponse(value);
    if (value?.kind === 'event') return new Response(value.json, { headers: { 'content-type': 'application/json' } });
    throw new IsletError('FunctionError', 'the function returned no HTTP response');
  };

  app.all('/fn/:name', handle);
  app.all('/fn/:name/*', handle);
}

/** The HTTP request as the invoker takes it: raw path after the name, raw query, header pairs. */
async function httpPayload(c: Context<AppEnv>, clientAddress: ClientAddress, maxBytes: number): Promise<HttpPayload> {
  const url = new URL(c.req.url);
  // The raw (still percent-encoded) path, so the function sees exactly what the client sent.
  const [, prefix = '', rest = ''] = /^(\/fn\/[^/]*)(.*)$/.exec(url.pathname) ?? [];
  const path = rest === '' ? '/' : rest;
  const body = await readBody(c, maxBytes);
  // The function is mounted at /fn/:name, so a router inside it (a bundled Hono app) sees its
  // own paths: request.url carries the path after the prefix, and the prefix travels in
  // X-Forwarded-Prefix for functions that build absolute links.
  const headers = headerPairs(c).filter(([name]) => name !== 'x-forwarded-prefix');
  headers.push(['x-forwarded-prefix', prefix]);
  return {
    kind: 'http',
    method: c.req.method,
    path,
    rawQuery: url.search.slice(1),
    headers,
    body,
    sourceIp: stripMappedPrefix(clientAddress(c)),
    url: `${url.origin}${path}${url.search}`,
  };
}

/** Header pairs in arrival order with lower-case names (Node's rawHeaders when there). */
function headerPairs(c: Context<AppEnv>): Array<[string, string]> {
  const raw = (c.env as { incoming?: { rawHeaders?: string[] } } | undefined)?.incoming?.rawHeaders;
  if (Array.isArray(raw)) {
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
    return pairs;
  }
  return [...c.req.raw.headers];
}

function stripMappedPrefix(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/** 503 for Event invocations when no async queue is wired. */
export function eventsUnavailable(): IsletError {
  return new IsletError('EventsUnavailable', 'async invocation needs NATS JetStream: set NATS_URL or put nats-server on PATH');
}
