// Settings every script reads from the environment (`k6 run -e NAME=value` or the shell).

/** Base URL of the islet server. @default http://localhost:8080 */
export const ISLET_URL: string = (__ENV.ISLET_URL || 'http://localhost:8080').replace(/\/+$/, '');
/** Bearer token for /v1 (ISLET_ADMIN_TOKEN); without one islet only answers admin calls from loopback. */
export const ISLET_ADMIN_TOKEN: string = __ENV.ISLET_ADMIN_TOKEN || '';
/** Target request rate (iterations per second). */
export const RATE: number = positiveInt('RATE', 100);
/** Length of the main phase, a k6 duration string. @default 30s */
export const DURATION: string = __ENV.DURATION || '30s';
/** Keep deployed functions after the run (KEEP=1), e.g. to inspect logs. */
export const KEEP: boolean = __ENV.KEEP === '1' || __ENV.KEEP === 'true';
/** A per-run suffix so two runs never share function names. */
export const RUN_ID: string = __ENV.RUN_ID || String(Date.now() % 1_000_000_000);

/** An integer setting >= `min` with a default; a bad value stops the script with a clear message. */
export function intSetting(name: string, fallback: number, min: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

/** An integer setting > 0 with a default. */
export function positiveInt(name: string, fallback: number): number {
  return intSetting(name, fallback, 1);
}

/** Seconds of a k6 duration string such as `30s`, `2m`, `1m30s`, `500ms`. */
export function durationSeconds(text: string): number {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let match: RegExpExecArray | null;
  let matched = '';
  while ((match = re.exec(text)) !== null) {
    const n = Number(match[1]);
    const unit = match[2];
    total += unit === 'ms' ? n / 1000 : unit === 's' ? n : unit === 'm' ? n * 60 : n * 3600;
    matched += match[0];
  }
  if (matched !== text || total <= 0) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 30s, 2m, 1m30s)`);
  return total;
}
