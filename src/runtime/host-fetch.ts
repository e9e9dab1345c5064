import { SUBREQUEST_HEADER } from '../invoke/types.ts';

/** A subrequest as it leaves an isolate (copied out of it). */
export interface SubrequestInit {
  url: string;
  method: string;
  headers: Array<[string, string]>;
  body: Uint8Array | null;
  redirect: string;
}

/** What goes back into the isolate: a response to build a `Response` from, or an error message. */
export type SubrequestReply =
  | { status: number; statusText: string; headers: Array<[string, string]>; body: Uint8Array; url: string; redirected: boolean }
  | { error: string };

export interface SubrequestLimits {
  /** The calling function, sent as SUBREQUEST_HEADER. */
  functionName: string;
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** Aborts when the invocation ends or its subrequest timeout passes. */
  signal: AbortSignal;
}

/**
 * Runs a function's fetch() on the host's fetch (undici). Never throws: every failure becomes
 * `{error}` with a message fit for function code (no host stack, no host paths).
 */
export async function hostFetch(init: SubrequestInit, limits: SubrequestLimits): Promise<SubrequestReply> {
  let url: URL;
  try {
    url = new URL(init.url);
  } catch {
    return { error: `fetch failed: invalid URL ${JSON.stringify(init.url)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: `fetch failed: unsupported protocol ${url.protocol}` };
  if (init.body !== null && init.body.byteLength > limits.maxRequestBytes) {
    return { error: `fetch failed: request body is over the ${limits.maxRequestBytes} byte cap` };
  }
  const redirect = init.redirect === 'manual' || init.redirect === 'error' ? init.redirect : 'follow';
  try {
    const headers = init.headers.filter(([name]) => name.toLowerCase() !== SUBREQUEST_HEADER);
    headers.push([SUBREQUEST_HEADER, limits.functionName]);
    const response = await fetch(url, {
      method: init.method,
      headers,
      body: init.body,
      redirect,
      signal: limits.signal,
    });
    const body = await readCapped(response, limits.maxResponseBytes);
    if (body === undefined) return { error: `fetch failed: response body is over the ${limits.maxResponseBytes} byte cap` };
    const replyHeaders: Array<[string, string]> = [];
    response.headers.forEach((value, name) => { if (name !== 'set-cookie') replyHeaders.push([name, value]); });
    for (const cookie of response.headers.getSetCookie()) replyHeaders.push(['set-cookie', cookie]);
    return { status: response.status, statusText: response.statusText, headers: replyHeaders, body, url: response.url, redirected: response.redirected };
  } catch (err) {
    if (limits.signal.aborted) return { error: 'fetch failed: the subrequest timed out or the invocation ended' };
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : (err as Error).message;
    return { error: `fetch failed: ${detail}` };
  }
}

async function readCapped(response: Response, cap: number): Promise<Uint8Array | undefined> {
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concat(chunks, size);
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
}

/** Joins chunks into a fresh, exactly sized buffer (never Node's shared Buffer pool). */
function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
