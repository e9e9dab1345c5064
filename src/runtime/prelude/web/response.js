// Response per the Fetch standard, with the static error(), redirect() and json().
import { cloneBody, extractBody, installBodyMixin, setBody } from './body.js';
import { core } from './core.js';
import { utf8Encode } from './encoding.js';
import { Headers, freezeHeaders } from './headers.js';

const NULL_BODY_STATUSES = [101, 103, 204, 205, 304];
const REDIRECT_STATUSES = [301, 302, 303, 307, 308];
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

export class Response {
  #status = 200;
  #statusText = '';
  #headers;
  #type = 'default';
  #url = '';

  constructor(body = null, init = {}) {
    const options = init ?? {};
    const status = options.status === undefined ? 200 : Number(options.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`Failed to construct 'Response': The status provided (${options.status}) is outside the range [200, 599].`);
    }
    const statusText = options.statusText === undefined ? '' : String(options.statusText);
    if (!REASON_PHRASE.test(statusText)) throw new TypeError(`Invalid statusText: ${statusText}`);
    this.#status = status;
    this.#statusText = statusText;
    this.#headers = new Headers(options.headers);
    const extracted = extractBody(body);
    if ((extracted.bytes !== null || extracted.stream !== null) && NULL_BODY_STATUSES.includes(status)) {
      throw new TypeError(`Response with null body status ${status} cannot have a body`);
    }
    if (extracted.type !== null && !this.#headers.has('content-type')) this.#headers.set('content-type', extracted.type);
    setBody(this, extracted);
  }

  get status() { return this.#status; }
  get ok() { return this.#status >= 200 && this.#status <= 299; }
  get statusText() { return this.#statusText; }
  get headers() { return this.#headers; }
  get type() { return this.#type; }
  get url() { return this.#url; }
  get redirected() { return false; }

  clone() {
    const copy = new Response(null, { status: 200 });
    copy.#status = this.#status;
    copy.#statusText = this.#statusText;
    copy.#headers = new Headers(this.#headers);
    copy.#type = this.#type;
    copy.#url = this.#url;
    cloneBody(this, copy);
    return copy;
  }

  /** A network error: status 0, type "error", immutable empty headers. */
  static error() {
    const response = new Response(null, { status: 200 });
    response.#status = 0;
    response.#type = 'error';
    freezeHeaders(response.#headers);
    return response;
  }

  /** A redirect to `url` (resolved as an absolute URL) with status 301/302/303/307/308. */
  static redirect(url, status = 302) {
    const URL = core('URL');
    let location;
    try {
      location = new URL(String(url)).href;
    } catch {
      throw new TypeError(`Failed to parse URL from ${String(url)}`);
    }
    if (!REDIRECT_STATUSES.includes(status)) throw new RangeError(`Invalid redirect status code: ${status}`);
    const response = new Response(null, { status, headers: { location } });
    freezeHeaders(response.#headers);
    return response;
  }

  /** A JSON response; Content-Type defaults to application/json. */
  static json(data, init = {}) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
    const headers = new Headers(init?.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new Response(utf8Encode(text), { ...init, headers });
  }

  get [Symbol.toStringTag]() { return 'Response'; }
}
installBodyMixin(Response);
