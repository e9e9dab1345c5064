// Function sources the scripts deploy. Small on purpose: the scripts measure islet, not the code.

/** Edge-style hello world (the warm-path reference). */
export const EDGE_HELLO = `export default { fetch() { return new Response('hello') } }`;

/** Edge-style hello whose text differs per function, so every deploy is a distinct module. */
export function edgeHello(i: number): string {
  return `export default { fetch() { return new Response('hello ${i}') } }`;
}

/** Lambda-style JSON echo of the request body (Function URL payload 2.0 in, JSON out). */
export const LAMBDA_ECHO = `export async function handler(event) {
  const body = event.body ? (event.isBase64Encoded ? atob(event.body) : event.body) : '{}';
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body };
}`;

/** CPU-bound: iterative Fibonacci of `?n=` (default 25) rounds, repeated. */
export const CPU_WORK = `export default { fetch(request) {
  const n = Number(new URL(request.url).searchParams.get('n') || 25);
  let sum = 0;
  for (let r = 0; r < 2000; r++) { let a = 0, b = 1; for (let i = 0; i < n; i++) { const t = a + b; a = b; b = t; } sum += a % 7; }
  return new Response(String(sum));
} }`;

/** Waits `?ms=` (default 20) on a timer: an I/O-bound handler that holds its isolate. */
export const IO_WAIT = `export default { async fetch(request) {
  const ms = Number(new URL(request.url).searchParams.get('ms') || 20);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return new Response('waited ' + ms);
} }`;

/** Lambda-style handler for async events: returns its event (so a destination receives it). */
export const ASYNC_SINK = `export async function handler(event) { return { ok: true, n: event && event.n } }`;

/** Edge-style batch consumer: acks every message. */
export const QUEUE_SINK = `export default { async queue(batch) { for (const m of batch.messages) m.ack() } }`;
