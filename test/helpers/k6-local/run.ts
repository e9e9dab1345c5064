// Runs one k6 script under Node with the shim: setup(), `iterations` calls of the default
// function, teardown(). Prints {checks, metrics, requests, options} as JSON on stdout.
//   node --no-node-snapshot test/helpers/k6-local/run.ts load-tests/warm-http.ts 3
// Settings come from the environment (__ENV), as `k6 run -e` would give them.
import { build } from 'esbuild';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exec } from './shim.ts';

const [script, iterationsText = '1'] = process.argv.slice(2);
if (!script) throw new Error('usage: run.ts <script.ts> [iterations]');
const iterations = Number(iterationsText);
const SHIM = pathToFileURL(join(import.meta.dirname, 'shim.ts')).href;

// Each k6 module maps onto one export of the shim.
const modules: Record<string, string> = {
  k6: 'export { check, sleep } from SHIM;',
  'k6/http': 'import { http } from SHIM; export default http;',
  'k6/metrics': 'export { Trend, Counter, Rate, Gauge } from SHIM;',
  'k6/execution': 'import { exec } from SHIM; export default exec;',
};
const bundle = await build({
  entryPoints: [script],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'neutral',
  plugins: [{
    name: 'k6-shim',
    setup(b) {
      b.onResolve({ filter: /^k6(\/.*)?$/ }, (args) => ({ path: args.path, namespace: 'k6' }));
      b.onLoad({ filter: /.*/, namespace: 'k6' }, (args) => {
        const source = modules[args.path];
        if (source === undefined) throw new Error(`k6 shim has no module ${args.path}`);
        return { contents: source.replace('SHIM', JSON.stringify(SHIM)), loader: 'js', resolveDir: import.meta.dirname };
      });
    },
  }],
  external: [SHIM],
});

// k6 writes console output to stderr; stdout carries only the result.
console.log = console.error;
console.info = console.error;
const g = globalThis as Record<string, unknown>;
g.__ENV = { ...process.env };
g.__ITER = 0;
g.__VU = 1;
const code = bundle.outputFiles[0]!.text;
const mod = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`) as {
  options?: unknown; setup?: () => unknown; default: (data: unknown) => void; teardown?: (data: unknown) => void;
};
exec.scenario.startTime = Date.now();
const data = mod.setup?.();
for (let i = 0; i < iterations; i++) {
  g.__ITER = i;
  exec.scenario.iterationInTest = i;
  mod.default(data);
}
mod.teardown?.(data);
process.stdout.write(`${JSON.stringify({ ...(g.__k6shim as object), options: mod.options })}\n`);
process.exit(0);
