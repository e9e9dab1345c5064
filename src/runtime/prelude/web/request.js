// Request per the Fetch standard, minus what only a browser's fetch() would act on
// (mode, credentials and cache are stored and reported, never enforced).
import { newSignal } from './abort.js';
import { cloneBody, extractBody, hasNullBody, installBodyMixin, setBody, takeBody } from './body.js';
import { core } from './core.js';
import { Headers } from './headers.js';

const NORMALIZED_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'];
const FORBIDDEN_METHODS = ['CONNECT', 'TRACE', 'TRACK'];
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REDIRECT_MODES = ['follow', 'error', 'manual'];

function normalizeMethod(method) {
  const m = String(method);
  if (!METHOD_TOKEN.test(m)) throw new TypeError(`'${m}' is not a valid HTTP method.`);
  const upper = m.toUpperCase();
  if (FORBIDDEN_METHODS.includes(upper)) throw new TypeError(`'${m}' HTTP method is unsupported.`);
  return NORMALIZED_METHODS.includes(upper) ? upper : m;
}

// Conservative shape of an absolute http(s) URL that is already in WHATWG-serialized form.
// Requests the runtime builds from host data match it, so creating them does not load
// core-js's URL parser; anything unusual takes the full parser.
const CANONICAL_HTTP_URL = /^(https?):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([0-9]{1,5}))?(\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*)(\?[A-Za-z0-9\-._~!$&()*+,;=:@/?%]*)?$/;
const DEFAULT_PORTS = { http: 80, https: 443 };

const CANONICAL_IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function canonicalHttpURL(input) {
  const match = CANONICAL_HTTP_URL.exec(input);
  if (match === null) return null;
  const [, scheme, host, port, path] = match;
  const lastLabel = host.slice(host.lastIndexOf('.') + 1);
  // Hosts ending in a number are IPv4 to the URL parser (only canonical dotted-decimal passes as
  // is: 127.0.0.1 is what islet itself hands functions); xn-- labels need punycode checks.
  if ((/^(?:[0-9]+|0x[0-9a-f]*)$/.test(lastLabel) && !CANONICAL_IPV4.test(host)) || host.includes('xn--')) return null;
  if (port !== undefined && (String(Number(port)) !== port || Number(port) > 65535 || Number(port) === DEFAULT_PORTS[scheme])) return null;
  if (path.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment))) return null;
  return input;
}

function parseURL(input) {
  const text = String(input);
  const canonical = canonicalHttpURL(text);
  if (canonical !== null) return canonical;
  const URL = core('URL');
  try {
    return new URL(text).href;
  } catch {
    throw new TypeError(`Failed to parse URL from ${text}`);
  }
}

export class Request {
  #method;
  #url;
  #headers;
  #signal;
  #redirect;
  #options;

  constructor(input, init = {}) {
    if (arguments.length < 1) throw new TypeError("Failed to construct 'Request': 1 argument required.");
    const options = init ?? {};
    const base = input instanceof Request ? input : null;
    this.#url = base !== null ? base.#url : parseURL(input);
    this.#method = options.method !== undefined ? normalizeMethod(options.method) : base?.#method ?? 'GET';
    this.#headers = new Headers(options.headers !== undefined ? options.headers : base?.#headers);
    this.#signal = options.signal ?? base?.#signal ?? null;
    const redirect = options.redirect ?? base?.#redirect ?? 'follow';
    if (!REDIRECT_MODES.includes(redirect)) throw new TypeError(`Invalid redirect mode: ${redirect}`);
    this.#redirect = redirect;
    this.#options = {
      cache: options.cache ?? base?.cache ?? 'default',
      credentials: options.credentials ?? base?.credentials ?? 'same-origin',
      integrity: options.integrity ?? base?.integrity ?? '',
      keepalive: Boolean(options.keepalive ?? base?.keepalive ?? false),
      mode: options.mode ?? base?.mode ?? 'cors',
      referrer: options.referrer ?? base?.referrer ?? 'about:client',
      referrerPolicy: options.referrerPolicy ?? base?.referrerPolicy ?? '',
    };

    const hasBody = options.body !== undefined && options.body !== null;
    if (hasBody || (base !== null && !hasNullBody(base) && options.body === undefined)) {
      if (this.#method === 'GET' || this.#method === 'HEAD') {
        throw new TypeError('Request with GET/HEAD method cannot have body.');
      }
    }
    let extracted;
    if (options.body !== undefined) {
      extracted = extractBody(options.body);
      if (base !== null && !hasNullBody(base)) takeBody(base);
    } else if (base !== null) {
      extracted = takeBody(base);
    } else {
      extracted = extractBody(null);
    }
    if (extracted.type !== null && !this.#headers.has('content-type')) this.#headers.set('content-type', extracted.type);
    setBody(this, extracted);
  }

  get method() { return this.#method; }
  get url() { return this.#url; }
  get headers() { return this.#headers; }
  get redirect() { return this.#redirect; }
  get signal() {
    this.#signal ??= newSignal();
    return this.#signal;
  }
  get cache() { return this.#options.cache; }
  get credentials() { return this.#options.credentials; }
  get integrity() { return this.#options.integrity; }
  get keepalive() { return this.#options.keepalive; }
  get mode() { return this.#options.mode; }
  get referrer() { return this.#options.referrer; }
  get referrerPolicy() { return this.#options.referrerPolicy; }
  get destination() { return ''; }
  get duplex() { return 'half'; }

  clone() {
    const copy = new Request(this.#url, { method: 'GET', redirect: this.#redirect });
    copy.#method = this.#method;
    copy.#headers = new Headers(this.#headers);
    copy.#signal = this.#signal;
    copy.#options = this.#options;
    cloneBody(this, copy);
    return copy;
  }

  get [Symbol.toStringTag]() { return 'Request'; }
}
installBodyMixin(Request);
