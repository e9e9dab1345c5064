/** Function sources the bench deploys (kept in step with load-tests/lib/functions.ts). */

/** Edge-style hello world, the same bytes as the Hono baseline answers. */
export const EDGE_HELLO = `export default { fetch() { return new Response('hello') } }`;

/** A distinct module per index, so each deploy is a real cold start. */
export function edgeHello(i: number): string {
  return `export default { fetch() { return new Response('hello ${i}') } }`;
}

/** CPU-bound handler with a fixed amount of work per request (a few ms on a current core). */
export const CPU_WORK = `export default { fetch() {
  let sum = 0;
  for (let r = 0; r < 20000; r++) { let a = 0, b = 1; for (let i = 0; i < 40; i++) { const t = (a + b) % 1000003; a = b; b = t; } sum = (sum + a) % 1000003; }
  return new Response(String(sum));
} }`;
