import type { MachineInfo } from './machine.ts';
import type { SectionResult } from './types.ts';

/** Everything one `npm run bench` produced (written as bench/results/latest.json). */
export interface BenchReport {
  generatedAt: string;
  command: string;
  quick: boolean;
  machine: MachineInfo;
  sections: Record<string, SectionResult>;
}

const fmt = (n: number | null) => (n === null ? '–' : String(n));

function lines(report: BenchReport): string[][] {
  const out: string[][] = [];
  for (const [name, section] of Object.entries(report.sections)) {
    if (section.status !== 'ok') {
      out.push([name, `${section.status}: ${section.reason}`, '', '', '', '']);
      continue;
    }
    for (const row of section.rows) {
      out.push([name, row.metric, `${fmt(row.value)} ${row.unit}`, `${fmt(row.baseline)} ${row.unit}`, row.baselineName ?? '', row.ratio === null ? '–' : `${row.ratio}×`]);
    }
  }
  return out;
}

const HEADER = ['section', 'metric', 'islet', 'baseline', 'baseline is', 'ratio'];

function machineLine(m: MachineInfo): string {
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM (load ${m.loadAverage1m}), ${m.os}, Node ${m.node}, nats-server ${m.natsServer}`;
}

/** A plain-text table for the terminal. */
export function textTable(report: BenchReport): string {
  const rows = [HEADER, ...lines(report)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const text = rows.map((r) => r.map((cell, i) => (i >= 2 && i !== 4 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd());
  text.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return [`machine: ${machineLine(report.machine)}`, `command: ${report.command}${report.quick ? '  (--quick: a harness check, not a measurement)' : ''}`, '', ...text].join('\n');
}

/** A markdown table with the machine description (bench/results/latest.md). */
export function markdownTable(report: BenchReport): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  const rows = lines(report).map((r) => `| ${r.map(esc).join(' | ')} |`);
  return [
    `# islet benchmark — ${report.generatedAt}`,
    '',
    `- machine: ${machineLine(report.machine)}`,
    `- command: \`${report.command}\`${report.quick ? ' (quick: checks the harness, not a measurement)' : ''}`,
    '- ratio = islet ÷ baseline: above 1 is better for throughput (req/s, events/s, msg/s), worse for latency and memory',
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map((_, i) => (i >= 2 && i !== 4 ? '---:' : '---')).join('|')}|`,
    ...rows,
    '',
  ].join('\n');
}
