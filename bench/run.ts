// `npm run bench [-- --quick] [-- --only=warm,cold] [-- --json] [-- --out=DIR]`
// Runs the benchmark sections, each figure beside a baseline measured in the same run, prints
// a table (or the JSON with --json) and writes DIR/latest.json + DIR/latest.md (DIR defaults
// to bench/results). Sections: warm, cold, rss, async, batch, cpu. A section whose feature is
// missing reports `unavailable: <reason>`; one that fails reports `error: <message>` and the
// exit code is 1. See docs/benchmarks.md for what each section measures.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from './lib/machine.ts';
import { markdownTable, textTable, type BenchReport } from './lib/report.ts';
import { Unavailable, type BenchContext, type Section, type SectionResult } from './lib/types.ts';
import { coldSection } from './sections/cold.ts';
import { cpuSection } from './sections/cpu.ts';
import { asyncSection, batchSection } from './sections/events.ts';
import { rssSection } from './sections/rss.ts';
import { warmSection } from './sections/warm.ts';

/** Sections in run order. */
export const SECTIONS: Record<string, Section> = {
  warm: warmSection, cold: coldSection, rss: rssSection, async: asyncSection, batch: batchSection, cpu: cpuSection,
};

async function runSection(name: string, section: Section, ctx: BenchContext): Promise<SectionResult> {
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  try {
    const { rows, details } = await section(ctx);
    return { status: 'ok', rows, details, seconds: seconds() };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    ctx.log(`${name}: ${err instanceof Unavailable ? 'unavailable' : 'error'}: ${reason}`);
    return { status: err instanceof Unavailable ? 'unavailable' : 'error', reason, seconds: seconds() };
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, json: { type: 'boolean', default: false }, out: { type: 'string' } },
  });
  const names = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : Object.keys(SECTIONS);
  const unknown = names.filter((n) => !(n in SECTIONS));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown section(s) ${unknown.join(', ')}; choose from ${Object.keys(SECTIONS).join(', ')}\n`);
    return 2;
  }
  const machine = await describeMachine();
  const ctx: BenchContext = { quick: values.quick, cores: machine.cores, log: (m) => process.stderr.write(`[bench] ${m}\n`) };
  const report: BenchReport = {
    generatedAt: new Date().toISOString(),
    command: (process.env.npm_lifecycle_event === 'bench' ? ['npm run bench --'] : ['node --no-node-snapshot bench/run.ts'])
      .concat(process.argv.slice(2)).join(' ').replace(/ --$/, ''),
    quick: values.quick,
    machine,
    sections: {},
  };
  for (const name of names) {
    ctx.log(`${name}: start`);
    report.sections[name] = await runSection(name, SECTIONS[name]!, ctx);
  }

  const outDir = values.out ?? join(import.meta.dirname, 'results');
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(outDir, 'latest.md'), markdownTable(report));
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${textTable(report)}\n\nwritten: ${join(outDir, 'latest.json')}, latest.md\n`);
  return Object.values(report.sections).some((s) => s.status === 'error') ? 1 : 0;
}

// In-process sections (async, batch) run isolates, whose pending work does not keep Node's loop alive.
const keepAlive = setInterval(() => {}, 1_000);
const code = await main();
clearInterval(keepAlive);
process.exit(code);
