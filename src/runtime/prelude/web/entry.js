// Entry of the web prelude bundle: installs the Web-standard globals on globalThis,
// non-enumerable like a browser's. Small classes are installed directly; core-js and the
// streams polyfill are installed as self-replacing getters so that an isolate pays for
// them only when its code first touches them.
import { Event, EventTarget, setErrorHandler, setWarningHandler } from 'event-target-shim';
import { AbortController, AbortSignal } from './abort.js';
import { Blob, File } from './blob.js';
import { CORE_NAMES, core } from './core.js';
import { TextDecoder, TextEncoder } from './encoding.js';
import { FormData } from './form-data.js';
import { Headers } from './headers.js';
import { Request } from './request.js';
import { Response } from './response.js';
import { streams } from './streams.js';
import { textStreams } from './text-streams.js';

const STREAM_NAMES = [
  'ReadableStream', 'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader', 'ReadableStreamBYOBRequest',
  'ReadableByteStreamController', 'ReadableStreamDefaultController', 'WritableStream',
  'WritableStreamDefaultWriter', 'WritableStreamDefaultController', 'TransformStream',
  'TransformStreamDefaultController', 'ByteLengthQueuingStrategy', 'CountQueuingStrategy',
];

function define(name, value) {
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
}

function defineLazy(name, load) {
  Object.defineProperty(globalThis, name, {
    configurable: true,
    enumerable: false,
    get() {
      const value = load();
      // undefined: a re-entrant lookup while the module itself loads; keep the getter.
      if (value !== undefined) define(name, value);
      return value;
    },
    set(value) { define(name, value); },
  });
}

// Listener errors go to the runtime's console when it has one; never to host objects.
setErrorHandler((error) => { globalThis.console?.error?.(error); });
setWarningHandler(() => {});

if (globalThis.self === undefined) define('self', globalThis);
const eager = {
  TextEncoder, TextDecoder, Headers, Request, Response, Blob, File, FormData,
  Event, EventTarget, AbortController, AbortSignal,
};
for (const [name, value] of Object.entries(eager)) define(name, value);
for (const name of CORE_NAMES) defineLazy(name, () => core(name));
for (const name of STREAM_NAMES) defineLazy(name, () => streams()[name]);
for (const name of ['TextEncoderStream', 'TextDecoderStream']) defineLazy(name, () => textStreams()[name]);
