// TextEncoder / TextDecoder for UTF-8 (the only encoding Workers code relies on).
// Hand-written: the pure-JS packages on npm either reject `fatal` (fast-text-encoding)
// or carry every legacy encoding table (text-encoding), which every isolate would pay for.

const REPLACEMENT = 0xfffd;

function encodeInto(str, out, outOffset) {
  let pos = outOffset;
  let read = 0;
  const end = out.length;
  for (let i = 0; i < str.length; i++) {
    let code = str.charCodeAt(i);
    let units = 1;
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < str.length) {
      const next = str.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        units = 2;
      } else {
        code = REPLACEMENT;
      }
    } else if (code >= 0xd800 && code <= 0xdfff) {
      code = REPLACEMENT;
    }
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (pos + size > end) break;
    if (size === 1) {
      out[pos++] = code;
    } else if (size === 2) {
      out[pos++] = 0xc0 | (code >> 6);
      out[pos++] = 0x80 | (code & 0x3f);
    } else if (size === 3) {
      out[pos++] = 0xe0 | (code >> 12);
      out[pos++] = 0x80 | ((code >> 6) & 0x3f);
      out[pos++] = 0x80 | (code & 0x3f);
    } else {
      out[pos++] = 0xf0 | (code >> 18);
      out[pos++] = 0x80 | ((code >> 12) & 0x3f);
      out[pos++] = 0x80 | ((code >> 6) & 0x3f);
      out[pos++] = 0x80 | (code & 0x3f);
    }
    read += units;
    i += units - 1;
  }
  return { read, written: pos - outOffset };
}

// Captured now, so that function code replacing these globals cannot break decoding.
const { decodeURIComponent, escape } = globalThis;
const fromCharCode = String.fromCharCode;
const NON_ASCII = /[^\x00-\x7f]/;
const BINARY_CHUNK = 8192;

/** The bytes as a string of char codes 0-255 (native, chunked to stay within argument limits). */
export function binaryString(bytes) {
  if (bytes.length <= BINARY_CHUNK) return fromCharCode.apply(null, bytes);
  let out = '';
  for (let i = 0; i < bytes.length; i += BINARY_CHUNK) out += fromCharCode.apply(null, bytes.subarray(i, i + BINARY_CHUNK));
  return out;
}

function binaryToBytes(binary) {
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Encodes a string as UTF-8 bytes; lone surrogates become U+FFFD. */
export function utf8Encode(str) {
  const s = String(str);
  if (!NON_ASCII.test(s)) return binaryToBytes(s);
  const out = new Uint8Array(s.length * 3);
  return out.slice(0, encodeInto(s, out, 0).written);
}

// Bytes at the end that may be the start of a sequence continued in the next chunk.
function incompleteTail(bytes) {
  const n = bytes.length;
  for (let k = 1; k <= 3 && k <= n; k++) {
    const b = bytes[n - k];
    if ((b & 0xc0) === 0x80) continue;
    if (b < 0xc0) return 0;
    const size = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return size > k ? k : 0;
  }
  return 0;
}

// The engine's own UTF-8 decoder; throws URIError on anything but well-formed UTF-8.
function strictDecode(bytes) {
  const binary = binaryString(bytes);
  return NON_ASCII.test(binary) ? decodeURIComponent(escape(binary)) : binary;
}

/**
 * Decodes UTF-8 per the WHATWG Encoding standard (maximal-subpart replacement).
 * Returns { text, rest } where rest is the count of trailing bytes of an incomplete
 * sequence left undecoded when `stream` is true.
 */
function decodeUtf8(bytes, fatal, stream) {
  const rest = stream ? incompleteTail(bytes) : 0;
  try {
    return { text: strictDecode(rest > 0 ? bytes.subarray(0, bytes.length - rest) : bytes), rest };
  } catch {
    // Malformed input: the exact decoder below places U+FFFD (or throws when fatal).
  }
  return replacingDecode(bytes, fatal, stream);
}

function replacingDecode(bytes, fatal, stream) {
  let out = '';
  let chunk = [];
  let i = 0;
  const n = bytes.length;
  const flush = () => { out += String.fromCharCode.apply(null, chunk); chunk = []; };
  const bad = () => {
    if (fatal) throw new TypeError('The encoded data was not valid utf-8');
    chunk.push(REPLACEMENT);
  };
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) { chunk.push(b); i++; }
    else {
      let need = 0; let lower = 0x80; let upper = 0xbf; let code = 0;
      if (b >= 0xc2 && b <= 0xdf) { need = 1; code = b & 0x1f; }
      else if (b >= 0xe0 && b <= 0xef) {
        need = 2; code = b & 0xf;
        if (b === 0xe0) lower = 0xa0; else if (b === 0xed) upper = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3; code = b & 0x7;
        if (b === 0xf0) lower = 0x90; else if (b === 0xf4) upper = 0x8f;
      } else { bad(); i++; continue; }
      let j = 1;
      let ok = true;
      for (; j <= need; j++) {
        if (i + j >= n) { ok = false; break; }
        const c = bytes[i + j];
        if (c < lower || c > upper) { ok = false; break; }
        lower = 0x80; upper = 0xbf;
        code = (code << 6) | (c & 0x3f);
      }
      if (!ok) {
        if (i + j >= n && stream) { flush(); return { text: out, rest: n - i }; }
        bad(); i += j; continue;
      }
      i += need + 1;
      if (code > 0xffff) {
        code -= 0x10000;
        chunk.push(0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff));
      } else chunk.push(code);
    }
    if (chunk.length > 8192) flush();
  }
  flush();
  return { text: out, rest: 0 };
}

function toBytes(input) {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer)) {
    return new Uint8Array(input);
  }
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError("Failed to execute 'decode' on 'TextDecoder': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'");
}

export class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input = '') { return utf8Encode(input); }
  encodeInto(source, destination) {
    if (!(destination instanceof Uint8Array)) throw new TypeError("Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.");
    return encodeInto(String(source), destination, 0);
  }
  get [Symbol.toStringTag]() { return 'TextEncoder'; }
}

const UTF8_LABELS = ['utf-8', 'utf8', 'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'x-unicode20utf8'];

export class TextDecoder {
  #fatal;
  #ignoreBOM;
  #pending = null;
  #bomSeen = false;

  constructor(label = 'utf-8', options = {}) {
    const normalized = String(label).trim().toLowerCase();
    if (!UTF8_LABELS.includes(normalized)) {
      throw new RangeError(`Failed to construct 'TextDecoder': The encoding label provided ('${label}') is invalid or not supported.`);
    }
    this.#fatal = Boolean(options?.fatal);
    this.#ignoreBOM = Boolean(options?.ignoreBOM);
  }

  get encoding() { return 'utf-8'; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }

  decode(input, options = {}) {
    const stream = Boolean(options?.stream);
    let bytes = toBytes(input);
    if (this.#pending) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      joined.set(this.#pending);
      joined.set(bytes, this.#pending.length);
      bytes = joined;
      this.#pending = null;
    }
    let result;
    try {
      result = decodeUtf8(bytes, this.#fatal, stream);
    } catch (error) {
      this.#bomSeen = false;
      throw error;
    }
    if (result.rest > 0) this.#pending = bytes.slice(bytes.length - result.rest);
    let text = result.text;
    if (!this.#bomSeen && text.length > 0) {
      this.#bomSeen = true;
      if (!this.#ignoreBOM && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (!stream) { this.#bomSeen = false; this.#pending = null; }
    return text;
  }
  get [Symbol.toStringTag]() { return 'TextDecoder'; }
}

const decoder = new TextDecoder();
/** Decodes UTF-8 bytes with replacement characters (what body.text() uses). */
export function utf8Decode(bytes) { return decoder.decode(bytes); }
