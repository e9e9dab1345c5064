// Headers per the Fetch standard: a list of (lowercased name, value) pairs, combined
// with ", " on read except Set-Cookie, which getSetCookie() and iteration keep apart.
// Hand-written: headers-polyfill silently drops invalid names and rebuilds Set-Cookie by
// splitting a joined string, both of which user code can notice.

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;
const WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

function checkName(name) {
  const n = String(name);
  if (!TOKEN.test(n)) throw new TypeError(`Invalid header name: "${n}"`);
  return n.toLowerCase();
}

function checkValue(value) {
  const v = String(value).replace(WHITESPACE, '');
  if (BAD_VALUE.test(v)) throw new TypeError(`Invalid header value: "${v}"`);
  for (let i = 0; i < v.length; i++) {
    if (v.charCodeAt(i) > 0xff) throw new TypeError(`Invalid header value: "${v}" is not a ByteString`);
  }
  return v;
}

const GUARDS = new WeakMap();

/** Marks headers immutable (Response.error/redirect headers). */
export function freezeHeaders(headers) { GUARDS.set(headers, 'immutable'); }

export class Headers {
  #list = [];

  constructor(init = undefined) {
    if (init === undefined || init === null) return;
    if (typeof init !== 'object' && typeof init !== 'function') {
      throw new TypeError("Failed to construct 'Headers': The provided value is not of type 'HeadersInit'.");
    }
    if (init instanceof Headers) {
      this.#list = init.#list.map((pair) => pair.slice());
    } else if (typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        const entry = Array.from(pair);
        if (entry.length !== 2) throw new TypeError("Failed to construct 'Headers': header pairs must contain exactly two items");
        this.append(entry[0], entry[1]);
      }
    } else {
      for (const key of Reflect.ownKeys(init)) {
        const desc = Reflect.getOwnPropertyDescriptor(init, key);
        if (desc === undefined || !desc.enumerable) continue;
        if (typeof key === 'symbol') throw new TypeError('Header names must be strings');
        this.append(key, init[key]);
      }
    }
  }

  #guard() {
    if (GUARDS.get(this) === 'immutable') throw new TypeError('Headers are immutable');
  }

  append(name, value) {
    this.#guard();
    this.#list.push([checkName(name), checkValue(value)]);
  }

  delete(name) {
    this.#guard();
    const key = checkName(name);
    this.#list = this.#list.filter(([n]) => n !== key);
  }

  get(name) {
    const key = checkName(name);
    const values = [];
    for (const [n, v] of this.#list) if (n === key) values.push(v);
    return values.length === 0 ? null : values.join(', ');
  }

  getSetCookie() {
    const values = [];
    for (const [n, v] of this.#list) if (n === 'set-cookie') values.push(v);
    return values;
  }

  has(name) {
    const key = checkName(name);
    return this.#list.some(([n]) => n === key);
  }

  set(name, value) {
    this.#guard();
    const key = checkName(name);
    const v = checkValue(value);
    const index = this.#list.findIndex(([n]) => n === key);
    if (index === -1) { this.#list.push([key, v]); return; }
    this.#list[index] = [key, v];
    this.#list = this.#list.filter(([n], i) => n !== key || i === index);
  }

  /** Sorted, combined entries; each Set-Cookie stays its own entry (Fetch "sort and combine"). */
  *entries() {
    const names = [...new Set(this.#list.map(([n]) => n))].sort();
    for (const name of names) {
      if (name === 'set-cookie') {
        for (const value of this.getSetCookie()) yield [name, value];
      } else {
        yield [name, this.get(name)];
      }
    }
  }

  *keys() { for (const [name] of this.entries()) yield name; }
  *values() { for (const [, value] of this.entries()) yield value; }
  forEach(callback, thisArg = undefined) {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }
  [Symbol.iterator]() { return this.entries(); }
  get [Symbol.toStringTag]() { return 'Headers'; }
}
