/** One figure beside its baseline. `ratio` = value / baseline (docs/benchmarks.md says how to read it). */
export interface Row {
  metric: string;
  unit: string;
  value: number;
  baseline: number | null;
  baselineName: string | null;
  ratio: number | null;
  note?: string;
}

/** A section's outcome: figures, or why it could not run. */
export type SectionResult =
  | { status: 'ok'; rows: Row[]; details: Record<string, unknown>; seconds: number }
  | { status: 'unavailable'; reason: string; seconds: number }
  | { status: 'error'; reason: string; seconds: number };

/** What every section gets. */
export interface BenchContext {
  /** Small counts: checks the harness, not the numbers. */
  quick: boolean;
  cores: number;
  /** Progress line on stderr. */
  log(message: string): void;
}

/** A section body: returns rows + details, or throws Unavailable / any error. */
export type Section = (ctx: BenchContext) => Promise<{ rows: Row[]; details: Record<string, unknown> }>;

/** The feature a section measures is missing (in the server or on this machine). */
export class Unavailable extends Error {
  override name = 'Unavailable';
}
