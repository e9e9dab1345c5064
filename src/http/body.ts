import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { IsletError } from '../errors.ts';

/** Where a body is read from: a web Request, or a Hono context (Node's IncomingMessage when there). */
export type BodySource = Request | Context;

/** The Node request and response behind a Hono context on @hono/node-server (undefined elsewhere, e.g. app.request in tests). */
export function nodePair(c: Context): { incoming: IncomingMessage; outgoing: ServerResponse } | undefined {
  const env = c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
  return env?.incoming !== undefined && env.outgoing !== undefined && typeof env.incoming.on === 'function' ? { incoming: env.incoming, outgoing: env.outgoing } : undefined;
}

/**
 * A request header (lower-case `name`). On Node it is read from IncomingMessage.headers, which
 * skips building a WHATWG Headers object for every request (a hot-path cost); duplicates of
 * one header are joined with ", " as Headers.get does (Node keeps only the first of a few
 * single-value headers such as Authorization and Content-Type).
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = nodePair(c)?.incoming;
  if (incoming === undefined) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Reads a request body up to `maxBytes`, throwing PayloadTooLarge as soon as the declared
 * Content-Length or the bytes actually received go over. Returns null for an empty body.
 * Given a Hono context on Node, reads the IncomingMessage directly: no web Request and no web
 * stream are built for the body (they cost more than the rest of a small request's handling).
 */
export async function readBody(source: BodySource, maxBytes: number): Promise<Uint8Array | null> {
  if (source instanceof Request) return readWebBody(source, maxBytes);
  const node = nodePair(source);
  // Already read by someone else (or not on Node): the web Request knows what is left.
  if (node === undefined || node.incoming.readableDidRead) return readWebBody(source.req.raw, maxBytes);
  return readIncomingBody(node.incoming, node.outgoing, maxBytes);
}

function readIncomingBody(incoming: IncomingMessage, outgoing: ServerResponse, maxBytes: number): Promise<Uint8Array | null> {
  const declared = incoming.headers['content-length'];
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) {
        // Stop reading at the cap: a client cannot make the server buffer more than maxBytes.
        // The connection closes after the 413 instead of draining the rest.
        cleanup();
        incoming.pause();
        if (!outgoing.headersSent) outgoing.setHeader('Connection', 'close');
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (size === 0) resolve(null);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      if (incoming.readableEnded) return onEnd();
      cleanup();
      reject(new IsletError('BadRequest', 'the client closed the connection before the body was complete'));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

async function readWebBody(request: Request, maxBytes: number): Promise<Uint8Array | null> {
  const declared = request.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    throw tooLarge(maxBytes);
  }
  if (request.body === null) return null;

  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      // Stop reading at the cap: a client cannot make the server buffer more than maxBytes.
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
  if (size === 0) return null;
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function tooLarge(maxBytes: number): IsletError {
  return new IsletError('PayloadTooLarge', `the request body is over ${maxBytes} bytes`);
}

/** True when the content type names JSON (`application/json`, `application/*+json`). */
export function isJsonContentType(contentType: string | undefined | null): boolean {
  if (!contentType) return false;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Reads a JSON body for the admin API: over the cap → 413, a non-JSON content type → 415,
 * unparsable → 400 BadRequest. An empty body gives `undefined`. A missing Content-Type is
 * read as JSON (curl without -H, scripts).
 */
export async function readJsonBody(source: BodySource, maxBytes: number): Promise<{ value: unknown; text: string } | undefined> {
  const contentType = (source instanceof Request ? source.headers.get('content-type') : requestHeader(source, 'content-type')) ?? null;
  const body = await readBody(source, maxBytes);
  if (body === null) return undefined;
  if (contentType !== null && !isJsonContentType(contentType)) {
    throw new IsletError('UnsupportedMediaType', `the body must be JSON (Content-Type: application/json), got ${JSON.stringify(contentType.slice(0, 100))}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new IsletError('BadRequest', 'the body is not valid UTF-8');
  }
  try {
    return { value: JSON.parse(text), text };
  } catch (err) {
    throw new IsletError('BadRequest', `the body is not valid JSON: ${(err as Error).message}`);
  }
}
