// FormData plus multipart/form-data encoding and parsing for Request/Response bodies.
// Hand-written: formdata-polyfill depends on fetch-blob (see blob.js for why that can't load).
import { Blob, File, blobBytes } from './blob.js';
import { binaryString, utf8Decode } from './encoding.js';
import { core } from './core.js';

function toEntry(name, value, filename) {
  const key = String(name);
  if (value instanceof Blob) {
    const fileName = filename !== undefined ? String(filename) : value instanceof File ? value.name : 'blob';
    if (value instanceof File && filename === undefined) return [key, value];
    const file = new File([value], fileName, { type: value.type, lastModified: value instanceof File ? value.lastModified : undefined });
    return [key, file];
  }
  return [key, String(value)];
}

export class FormData {
  #entries = [];

  constructor(form = undefined) {
    if (form !== undefined) throw new TypeError("Failed to construct 'FormData': parameter 1 is not of type 'HTMLFormElement'.");
  }

  append(name, value, filename = undefined) {
    if (arguments.length < 2) throw new TypeError("Failed to execute 'append' on 'FormData': 2 arguments required.");
    this.#entries.push(toEntry(name, value, filename));
  }
  delete(name) {
    const key = String(name);
    this.#entries = this.#entries.filter(([n]) => n !== key);
  }
  get(name) {
    const key = String(name);
    const entry = this.#entries.find(([n]) => n === key);
    return entry === undefined ? null : entry[1];
  }
  getAll(name) {
    const key = String(name);
    return this.#entries.filter(([n]) => n === key).map(([, v]) => v);
  }
  has(name) {
    const key = String(name);
    return this.#entries.some(([n]) => n === key);
  }
  set(name, value, filename = undefined) {
    if (arguments.length < 2) throw new TypeError("Failed to execute 'set' on 'FormData': 2 arguments required.");
    const entry = toEntry(name, value, filename);
    const index = this.#entries.findIndex(([n]) => n === entry[0]);
    if (index === -1) { this.#entries.push(entry); return; }
    this.#entries[index] = entry;
    this.#entries = this.#entries.filter(([n], i) => n !== entry[0] || i === index);
  }
  *entries() { for (const [name, value] of this.#entries) yield [name, value]; }
  *keys() { for (const [name] of this.#entries) yield name; }
  *values() { for (const [, value] of this.#entries) yield value; }
  forEach(callback, thisArg = undefined) {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }
  [Symbol.iterator]() { return this.entries(); }
  get [Symbol.toStringTag]() { return 'FormData'; }
}

const escapeQuoted = (s) => s.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');

function randomBoundary() {
  let hex = '';
  for (let i = 0; i < 4; i++) hex += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
  return `----formdata-islet-${hex}`;
}

/** Serializes FormData as multipart/form-data; returns the bytes and the Content-Type. */
export function encodeMultipart(form) {
  const boundary = randomBoundary();
  const parts = [];
  for (const [name, value] of form) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeQuoted(name.replace(/\r?\n|\r/g, '\r\n'))}"`;
    if (typeof value === 'string') {
      parts.push(`${head}\r\n\r\n${value.replace(/\r(?!\n)|(?<!\r)\n/g, '\r\n')}\r\n`);
    } else {
      head += `; filename="${escapeQuoted(value.name)}"\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`;
      parts.push(head, value, '\r\n');
    }
  }
  parts.push(`--${boundary}--\r\n`);
  const blob = new Blob(parts);
  return { bytes: blobBytes(blob), type: `multipart/form-data; boundary=${boundary}` };
}

function headerParam(header, key) {
  const match = new RegExp(`;\\s*${key}=(?:"([^"]*)"|([^;\\s]*))`, 'i').exec(header);
  if (match === null) return undefined;
  return match[1] ?? match[2];
}

/** Parses a multipart/form-data body into FormData; throws TypeError when malformed. */
export function parseMultipart(bytes, contentType) {
  const boundary = headerParam(contentType, 'boundary');
  if (!boundary) throw new TypeError('Missing boundary in multipart/form-data Content-Type');
  const text = binaryString(bytes);
  const delimiter = `--${boundary}`;
  const form = new FormData();
  let pos = text.indexOf(delimiter);
  if (pos === -1) throw new TypeError('Malformed multipart/form-data body');
  for (;;) {
    pos += delimiter.length;
    if (text.startsWith('--', pos)) return form;
    if (!text.startsWith('\r\n', pos)) throw new TypeError('Malformed multipart/form-data body');
    pos += 2;
    const headEnd = text.indexOf('\r\n\r\n', pos);
    if (headEnd === -1) throw new TypeError('Malformed multipart/form-data body');
    const headers = {};
    for (const line of text.slice(pos, headEnd).split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const next = text.indexOf(`\r\n${delimiter}`, headEnd + 4);
    if (next === -1) throw new TypeError('Malformed multipart/form-data body');
    const content = bytes.subarray(headEnd + 4, next);
    const disposition = headers['content-disposition'] ?? '';
    const name = headerParam(disposition, 'name');
    if (name === undefined) throw new TypeError('multipart/form-data part without a name');
    const filename = headerParam(disposition, 'filename');
    const decodedName = utf8Decode(utf8Bytes(name));
    if (filename === undefined) {
      form.append(decodedName, utf8Decode(content));
    } else {
      const file = new File([content], utf8Decode(utf8Bytes(filename)), { type: headers['content-type'] ?? '' });
      form.append(decodedName, file);
    }
    pos = next + 2;
  }
}

// Header parameters were read as latin1; turn them back into their raw bytes.
function utf8Bytes(latin1Text) {
  const out = new Uint8Array(latin1Text.length);
  for (let i = 0; i < latin1Text.length; i++) out[i] = latin1Text.charCodeAt(i);
  return out;
}

/** Parses application/x-www-form-urlencoded text into FormData. */
export function parseUrlencoded(text) {
  const form = new FormData();
  for (const [name, value] of new (core('URLSearchParams'))(text)) form.append(name, value);
  return form;
}
