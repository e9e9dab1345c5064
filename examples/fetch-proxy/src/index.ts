import { defineWorker } from '@islet/sdk/handler';

interface Env {
  /** Where requests are relayed, e.g. https://hooks.internal.example */
  UPSTREAM_URL: string;
  /** When set, requests must carry `x-relay-token: <RELAY_TOKEN>`. */
  RELAY_TOKEN?: string;
}

/** Request headers passed upstream; everything else (cookies, auth) stays behind. */
const FORWARDED_HEADERS = ['content-type', 'accept', 'user-agent', 'x-github-event', 'x-hook-id'];

/**
 * Edge style: a webhook relay / fetch proxy. Every request below the function is sent to
 * UPSTREAM_URL with the same method, path, query and body; the upstream answer comes back.
 */
export default defineWorker<Env>({
  async fetch(request, env) {
    if (!env.UPSTREAM_URL) return Response.json({ error: 'UPSTREAM_URL is not set' }, { status: 500 });
    if (env.RELAY_TOKEN && request.headers.get('x-relay-token') !== env.RELAY_TOKEN) {
      return Response.json({ error: 'missing or wrong x-relay-token' }, { status: 401 });
    }
    const incoming = new URL(request.url);
    const target = new URL(incoming.pathname.replace(/^\//, ''), env.UPSTREAM_URL.replace(/\/?$/, '/'));
    target.search = incoming.search;

    const headers = new Headers({ 'x-relayed-by': 'islet', 'x-forwarded-host': incoming.host });
    for (const name of FORWARDED_HEADERS) {
      const value = request.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    let upstream: Response;
    try {
      upstream = await fetch(target, { method: request.method, headers, body: hasBody ? await request.arrayBuffer() : undefined });
    } catch (err) {
      console.error(`relay to ${target.origin} failed: ${(err as Error).message}`);
      return Response.json({ error: 'upstream unreachable' }, { status: 502 });
    }
    console.log(`${request.method} ${target.pathname} -> ${upstream.status}`);
    return new Response(upstream.body, {
      status: upstream.status,
      headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream', 'x-upstream-status': String(upstream.status) },
    });
  },
});
