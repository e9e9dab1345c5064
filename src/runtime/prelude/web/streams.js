// WHATWG streams come from web-streams-polyfill, loaded on first use: it is the largest
// part of the prelude and most invocations never touch a stream.
let ponyfill;

/** The web-streams-polyfill exports, evaluated on first call. */
export function streams() {
  // esbuild wraps this CommonJS module in a function that runs on the first require().
  ponyfill ??= require('web-streams-polyfill/dist/ponyfill.js');
  return ponyfill;
}

/** True when value is a ReadableStream (never loads the polyfill just to check). */
export function isReadableStream(value) {
  return ponyfill !== undefined && value instanceof ponyfill.ReadableStream;
}

/** A byte ReadableStream that yields a copy of `bytes` once and closes. */
export function streamFromBytes(bytes) {
  const { ReadableStream } = streams();
  return new ReadableStream({
    type: 'bytes',
    start(controller) {
      // enqueue() transfers (detaches) the chunk's whole buffer, which may be shared
      // with a Blob or a clone: hand it a private copy.
      if (bytes.length > 0) controller.enqueue(bytes.slice());
      controller.close();
    },
  });
}

/** True once a stream was read from or cancelled (spec "disturbed"; a polyfill field). */
export function isDisturbed(stream) {
  return stream._disturbed === true;
}

/** True when a body stream can no longer be read by a new consumer (disturbed or locked). */
export function isUnusable(stream) {
  return isDisturbed(stream) || stream.locked;
}

/** An empty stream that already counts as read (the `.body` of a consumed body). */
export function disturbedStream() {
  const stream = streamFromBytes(new Uint8Array(0));
  stream.cancel();
  return stream;
}

/** Reads a stream of byte chunks to the end into one Uint8Array. */
export async function readAllBytes(stream) {
  const reader = stream.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let chunk;
    if (value instanceof Uint8Array) chunk = value;
    else if (ArrayBuffer.isView(value)) chunk = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    else if (value instanceof ArrayBuffer) chunk = new Uint8Array(value);
    else throw new TypeError('Body stream chunks must be Uint8Array');
    chunks.push(chunk);
    size += chunk.length;
  }
  if (chunks.length === 1) return chunks[0];
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) { all.set(chunk, offset); offset += chunk.length; }
  return all;
}
