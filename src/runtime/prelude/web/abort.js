// AbortController / AbortSignal on event-target-shim's EventTarget. Hand-written glue:
// the abort-controller package predates `reason`, throwIfAborted() and AbortSignal.any().
import { Event, EventTarget, getEventAttributeValue, setEventAttributeValue } from 'event-target-shim';
import { domException } from './core.js';

let creating = false;
let signalAbort;

export class AbortSignal extends EventTarget {
  #aborted = false;
  #reason = undefined;

  static {
    signalAbort = (signal, reason) => {
      if (signal.#aborted) return;
      signal.#aborted = true;
      signal.#reason = reason === undefined ? domException('This operation was aborted', 'AbortError') : reason;
      signal.dispatchEvent(new Event('abort'));
    };
  }

  constructor() {
    if (!creating) throw new TypeError('Illegal constructor');
    super();
  }

  get aborted() { return this.#aborted; }
  get reason() { return this.#reason; }
  get onabort() { return getEventAttributeValue(this, 'abort'); }
  set onabort(value) { setEventAttributeValue(this, 'abort', value); }

  throwIfAborted() {
    if (this.#aborted) throw this.#reason;
  }

  /** A signal that is already aborted with `reason`. */
  static abort(reason = undefined) {
    const signal = newSignal();
    signalAbort(signal, reason);
    return signal;
  }

  /** A signal that aborts when any of `signals` does. */
  static any(signals) {
    const signal = newSignal();
    for (const source of signals) {
      if (source.aborted) { signalAbort(signal, source.reason); return signal; }
    }
    for (const source of signals) {
      source.addEventListener('abort', () => signalAbort(signal, source.reason), { once: true });
    }
    return signal;
  }

  get [Symbol.toStringTag]() { return 'AbortSignal'; }
}

/** A fresh, not yet aborted AbortSignal (the constructor is not public). */
export function newSignal() {
  creating = true;
  try {
    return new AbortSignal();
  } finally {
    creating = false;
  }
}

/** Aborts `signal` with `reason` (used by the runtime's AbortSignal.timeout()). */
export function abortSignal(signal, reason) { signalAbort(signal, reason); }

export class AbortController {
  #signal = newSignal();
  get signal() { return this.#signal; }
  abort(reason = undefined) { signalAbort(this.#signal, reason); }
  get [Symbol.toStringTag]() { return 'AbortController'; }
}
