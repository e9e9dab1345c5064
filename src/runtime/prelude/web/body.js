// The Fetch "Body" mixin shared by Request and Response: extraction of BodyInit,
// one-shot consumption (bodyUsed), cloning, and the lazily created `.body` stream.
import { Blob, blobBytes, blobFromBytes } from './blob.js';
import { isURLSearchParams } from './core.js';
import { utf8Decode, utf8Encode } from './encoding.js';
import { FormData, encodeMultipart, parseMultipart, parseUrlencoded } from './form-data.js';
import { disturbedStream, isDisturbed, isReadableStream, isUnusable, readAllBytes, streamFromBytes } from './streams.js';

/** Body of one Request/Response: exactly one of bytes / stream is set, or neither (null body). */
class BodyState {
  bytes = null;
  stream = null;
  used = false;
}

const states = new WeakMap();

/** Turns a BodyInit into bytes or a stream plus the Content-Type it implies. */
export function extractBody(init) {
  if (init === null || init === undefined) return { bytes: null, stream: null, type: null };
  if (typeof init === 'string') return { bytes: utf8Encode(init), stream: null, type: 'text/plain;charset=UTF-8' };
  if (init instanceof ArrayBuffer) return { bytes: new Uint8Array(init.slice(0)), stream: null, type: null };
  if (ArrayBuffer.isView(init)) {
    return { bytes: new Uint8Array(init.buffer.slice(init.byteOffset, init.byteOffset + init.byteLength)), stream: null, type: null };
  }
  if (init instanceof Blob) return { bytes: blobBytes(init), stream: null, type: init.type === '' ? null : init.type };
  if (isURLSearchParams(init)) {
    return { bytes: utf8Encode(init.toString()), stream: null, type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  }
  if (init instanceof FormData) {
    const { bytes, type } = encodeMultipart(init);
    return { bytes, stream: null, type };
  }
  if (isReadableStream(init)) {
    if (isUnusable(init)) throw new TypeError('The body stream is locked or already read');
    return { bytes: null, stream: init, type: null };
  }
  return { bytes: utf8Encode(String(init)), stream: null, type: 'text/plain;charset=UTF-8' };
}

/** Attaches a body to a Request/Response instance. */
export function setBody(owner, extracted) {
  const state = new BodyState();
  state.bytes = extracted.bytes;
  state.stream = extracted.stream;
  states.set(owner, state);
}

function stateOf(owner) {
  const state = states.get(owner);
  if (state === undefined) throw new TypeError('Illegal invocation');
  return state;
}

/** True when the body has been read (or its stream disturbed): the `bodyUsed` getter. */
export function isBodyUsed(owner) {
  const state = stateOf(owner);
  return state.used || (state.stream !== null && isDisturbed(state.stream));
}

// Used, or its stream is locked by a reader: nothing else may read it.
function isBodyUnusable(owner) {
  const state = stateOf(owner);
  return state.used || (state.stream !== null && isUnusable(state.stream));
}

/** True when the body is null. */
export function hasNullBody(owner) {
  const state = stateOf(owner);
  return state.bytes === null && state.stream === null;
}

/** Moves the body out of `from` (as `new Request(request)` does) and marks `from` used. */
export function takeBody(from) {
  if (isBodyUnusable(from)) throw new TypeError('Body has already been used');
  const state = stateOf(from);
  const extracted = { bytes: state.bytes, stream: state.stream, type: null };
  if (state.bytes !== null || state.stream !== null) state.used = true;
  return extracted;
}

/** Copies the body for clone(): bytes are shared (never mutated), streams are teed. */
export function cloneBody(from, to) {
  if (isBodyUnusable(from)) throw new TypeError('Body has already been used');
  const state = stateOf(from);
  let stream = null;
  if (state.stream !== null) {
    const [a, b] = state.stream.tee();
    state.stream = a;
    stream = b;
  }
  setBody(to, { bytes: state.bytes, stream });
}

async function consume(owner) {
  const state = stateOf(owner);
  if (isBodyUnusable(owner)) throw new TypeError('Body has already been used');
  state.used = true;
  if (state.stream !== null) return readAllBytes(state.stream);
  return state.bytes ?? new Uint8Array(0);
}

function mimeEssence(contentType) {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** Defines the Body mixin members on a Request/Response prototype. */
export function installBodyMixin(Class) {
  const methods = {
    get body() {
      const state = stateOf(this);
      if (state.stream === null && state.bytes !== null) {
        // Materialized on first access so that bodies never read as a stream stay cheap.
        state.stream = state.used ? disturbedStream() : streamFromBytes(state.bytes);
        state.bytes = null;
      }
      return state.stream;
    },
    get bodyUsed() { return isBodyUsed(this); },
    async arrayBuffer() { return (await consume(this)).slice().buffer; },
    async bytes() { return (await consume(this)).slice(); },
    async text() { return utf8Decode(await consume(this)); },
    async json() { return JSON.parse(utf8Decode(await consume(this))); },
    async blob() { return blobFromBytes(await consume(this), this.headers.get('content-type') ?? ''); },
    async formData() {
      const contentType = this.headers.get('content-type');
      const essence = mimeEssence(contentType);
      const bytes = await consume(this);
      if (essence === 'multipart/form-data') return parseMultipart(bytes, contentType);
      if (essence === 'application/x-www-form-urlencoded') return parseUrlencoded(utf8Decode(bytes));
      throw new TypeError(`Could not parse content as FormData (Content-Type: ${contentType ?? 'none'})`);
    },
  };
  for (const key of Reflect.ownKeys(methods)) {
    const desc = Reflect.getOwnPropertyDescriptor(methods, key);
    desc.enumerable = true;
    Object.defineProperty(Class.prototype, key, desc);
  }
}
