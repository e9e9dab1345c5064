import { IsletError } from '../errors.ts';

/**
 * Reads a request body up to `maxBytes`, throwing PayloadTooLarge as soon as the declared
 * Content-Length or the bytes actually received go over. Returns null for an empty body.
 */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array | null> {
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
export async function readJsonBody(request: Request, maxBytes: number): Promise<{ value: unknown; text: string } | undefined> {
  const contentType = request.headers.get('content-type');
  const body = await readBody(request, maxBytes);
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
