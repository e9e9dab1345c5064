// TextEncoderStream / TextDecoderStream on the streams polyfill's TransformStream.
import { TextDecoder, utf8Encode } from './encoding.js';
import { streams } from './streams.js';

let classes;

/** Builds both classes on first use (they extend nothing, but need TransformStream). */
export function textStreams() {
  if (classes !== undefined) return classes;
  const { TransformStream } = streams();

  class TextEncoderStream {
    #transform;
    constructor() {
      // A high surrogate at the end of a chunk waits for its pair in the next chunk.
      let pending = '';
      this.#transform = new TransformStream({
        transform(chunk, controller) {
          let text = pending + String(chunk);
          pending = '';
          const last = text.charCodeAt(text.length - 1);
          if (last >= 0xd800 && last <= 0xdbff) {
            pending = text.slice(-1);
            text = text.slice(0, -1);
          }
          if (text.length > 0) controller.enqueue(utf8Encode(text));
        },
        flush(controller) {
          if (pending.length > 0) controller.enqueue(utf8Encode(pending));
        },
      });
    }
    get encoding() { return 'utf-8'; }
    get readable() { return this.#transform.readable; }
    get writable() { return this.#transform.writable; }
    get [Symbol.toStringTag]() { return 'TextEncoderStream'; }
  }

  class TextDecoderStream {
    #decoder;
    #transform;
    constructor(label = 'utf-8', options = {}) {
      const decoder = new TextDecoder(label, options);
      this.#decoder = decoder;
      this.#transform = new TransformStream({
        transform(chunk, controller) {
          const text = decoder.decode(chunk, { stream: true });
          if (text.length > 0) controller.enqueue(text);
        },
        flush(controller) {
          const text = decoder.decode();
          if (text.length > 0) controller.enqueue(text);
        },
      });
    }
    get encoding() { return this.#decoder.encoding; }
    get fatal() { return this.#decoder.fatal; }
    get ignoreBOM() { return this.#decoder.ignoreBOM; }
    get readable() { return this.#transform.readable; }
    get writable() { return this.#transform.writable; }
    get [Symbol.toStringTag]() { return 'TextDecoderStream'; }
  }

  classes = { TextEncoderStream, TextDecoderStream };
  return classes;
}
