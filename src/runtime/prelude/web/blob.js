// Blob and File backed by one in-memory Uint8Array. Hand-written: fetch-blob (the
// maintained pure-JS Blob) starts with a top-level await that imports node:stream/web,
// which cannot run in a bare isolate or be bundled into a classic script.
import { utf8Decode, utf8Encode } from './encoding.js';
import { streamFromBytes } from './streams.js';

let bytesOf;
let adopt;

function normalizeType(type) {
  const t = type === undefined ? '' : String(type);
  return /^[\x20-\x7e]*$/.test(t) ? t.toLowerCase() : '';
}

function partBytes(part) {
  if (part instanceof Blob) return bytesOf(part);
  if (part instanceof ArrayBuffer) return new Uint8Array(part.slice(0));
  if (ArrayBuffer.isView(part)) {
    return new Uint8Array(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength));
  }
  return utf8Encode(part);
}

export class Blob {
  #bytes;
  #type;

  static {
    bytesOf = (blob) => blob.#bytes;
    adopt = (blob, bytes) => { blob.#bytes = bytes; return blob; };
  }

  constructor(parts = [], options = {}) {
    if (parts === null || typeof parts !== 'object' || typeof parts[Symbol.iterator] !== 'function') {
      throw new TypeError("Failed to construct 'Blob': The provided value cannot be converted to a sequence.");
    }
    const chunks = [];
    let size = 0;
    const native = options?.endings === 'native';
    for (const part of parts) {
      // "native" line endings are \n here (the platform islet runs on is POSIX).
      const bytes = partBytes(native && typeof part === 'string' ? part.replace(/\r\n?/g, '\n') : part);
      chunks.push(bytes);
      size += bytes.length;
    }
    if (chunks.length === 1) {
      this.#bytes = chunks[0];
    } else {
      const all = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) { all.set(chunk, offset); offset += chunk.length; }
      this.#bytes = all;
    }
    this.#type = normalizeType(options?.type);
  }

  get size() { return this.#bytes.length; }
  get type() { return this.#type; }

  slice(start = 0, end = this.#bytes.length, contentType = '') {
    const size = this.#bytes.length;
    start = Math.trunc(Number(start)) || 0;
    end = Math.trunc(Number(end)) || 0;
    const from = start < 0 ? Math.max(size + start, 0) : Math.min(start, size);
    const to = end < 0 ? Math.max(size + end, 0) : Math.min(end, size);
    const blob = new Blob([], { type: contentType });
    blob.#bytes = this.#bytes.subarray(from, Math.max(from, to));
    return blob;
  }

  async text() { return utf8Decode(this.#bytes); }
  async arrayBuffer() { return this.#bytes.slice().buffer; }
  async bytes() { return this.#bytes.slice(); }
  stream() { return streamFromBytes(this.#bytes); }
  get [Symbol.toStringTag]() { return 'Blob'; }
}

/** The bytes of a Blob, shared (callers must not mutate them). */
export function blobBytes(blob) { return bytesOf(blob); }

/** A Blob over bytes the caller hands over (no copy). */
export function blobFromBytes(bytes, type) {
  return adopt(new Blob([], { type }), bytes);
}

export class File extends Blob {
  #name;
  #lastModified;
  constructor(parts, name, options = {}) {
    if (arguments.length < 2) throw new TypeError("Failed to construct 'File': 2 arguments required.");
    super(parts, options);
    this.#name = String(name);
    this.#lastModified = options?.lastModified === undefined ? Date.now() : Number(options.lastModified);
  }
  get name() { return this.#name; }
  get lastModified() { return this.#lastModified; }
  get webkitRelativePath() { return ''; }
  get [Symbol.toStringTag]() { return 'File'; }
}
