/**
 * Lambda FilterCriteria for event-source mappings: EventBridge-style content patterns
 * matched against `{ subject, headers, body }` of each message (body parsed as JSON when it is JSON).
 */

/** A compiled set of patterns; a message passes when ANY pattern matches. */
export type MessageFilter = (message: FilterInput) => boolean;

/** What a pattern sees of one message. */
export interface FilterInput {
  subject: string;
  headers: Record<string, string[]>;
  /** UTF-8 body text; parsed as JSON for matching when it is valid JSON. */
  body: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Matcher = (value: Json | undefined, present: boolean) => boolean;

const NUMERIC_OPS = new Set(['<', '<=', '=', '>', '>=']);

/**
 * Checks a pattern object and returns a description of the first problem, or undefined when valid.
 * Used by the API schema so that a bad pattern answers 400 at create time, not at delivery time.
 */
export function patternProblem(pattern: unknown, path = ''): string | undefined {
  if (pattern === null || typeof pattern !== 'object' || Array.isArray(pattern)) return `${path || 'pattern'} must be an object`;
  const entries = Object.entries(pattern);
  if (entries.length === 0) return `${path || 'pattern'} must not be empty`;
  for (const [key, value] of entries) {
    const at = path ? `${path}.${key}` : key;
    if (Array.isArray(value)) {
      if (value.length === 0) return `${at} must list at least one value`;
      for (const rule of value) {
        const problem = ruleProblem(rule, at);
        if (problem) return problem;
      }
    } else {
      const problem = patternProblem(value, at);
      if (problem) return problem;
    }
  }
  return undefined;
}

function ruleProblem(rule: unknown, at: string): string | undefined {
  if (rule === null || typeof rule !== 'object') return undefined; // literal equality
  if (Array.isArray(rule)) return `${at}: nested arrays are not a rule`;
  const keys = Object.keys(rule);
  if (keys.length !== 1) return `${at}: a rule object has exactly one key`;
  const [op] = keys as [string];
  const arg = (rule as Record<string, unknown>)[op];
  switch (op) {
    case 'prefix': case 'suffix': case 'equals-ignore-case':
      return typeof arg === 'string' ? undefined : `${at}: ${op} takes a string`;
    case 'exists':
      return typeof arg === 'boolean' ? undefined : `${at}: exists takes true or false`;
    case 'anything-but': {
      if (arg !== null && typeof arg === 'object' && !Array.isArray(arg)) {
        const inner = Object.entries(arg);
        return inner.length === 1 && inner[0]![0] === 'prefix' && typeof inner[0]![1] === 'string'
          ? undefined : `${at}: anything-but takes a value, a list of values or {prefix}`;
      }
      return undefined;
    }
    case 'numeric': {
      if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0) return `${at}: numeric takes [op, number, ...]`;
      for (let i = 0; i < arg.length; i += 2) {
        if (!NUMERIC_OPS.has(arg[i] as string) || typeof arg[i + 1] !== 'number') return `${at}: numeric takes [op, number, ...] with op one of < <= = > >=`;
      }
      return undefined;
    }
    default:
      return `${at}: unknown rule "${op}"`;
  }
}

function literalMatcher(expected: Json): Matcher {
  return (value, present) => present && anyOf(value, (v) => v === expected);
}

/** A message value that is an array matches when one of its elements matches (EventBridge). */
function anyOf(value: Json | undefined, test: (v: Json | undefined) => boolean): boolean {
  return Array.isArray(value) ? value.some(test) : test(value);
}

function ruleMatcher(rule: Json): Matcher {
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) return literalMatcher(rule);
  const [op, arg] = Object.entries(rule)[0] as [string, Json];
  switch (op) {
    case 'prefix':
      return (v, p) => p && anyOf(v, (x) => typeof x === 'string' && x.startsWith(arg as string));
    case 'suffix':
      return (v, p) => p && anyOf(v, (x) => typeof x === 'string' && x.endsWith(arg as string));
    case 'equals-ignore-case': {
      const want = (arg as string).toLowerCase();
      return (v, p) => p && anyOf(v, (x) => typeof x === 'string' && x.toLowerCase() === want);
    }
    case 'exists':
      return (_v, p) => p === arg;
    case 'anything-but': {
      if (arg !== null && typeof arg === 'object' && !Array.isArray(arg)) {
        const prefix = (arg as { prefix: string }).prefix;
        return (v, p) => p && !anyOf(v, (x) => typeof x === 'string' && x.startsWith(prefix));
      }
      const banned = Array.isArray(arg) ? arg : [arg];
      return (v, p) => p && !anyOf(v, (x) => banned.includes(x as Json));
    }
    case 'numeric': {
      const bounds = arg as Array<string | number>;
      return (v, p) => p && anyOf(v, (x) => typeof x === 'number' && numericOk(x, bounds));
    }
    default:
      return () => false;
  }
}

function numericOk(x: number, bounds: Array<string | number>): boolean {
  for (let i = 0; i < bounds.length; i += 2) {
    const n = bounds[i + 1] as number;
    switch (bounds[i]) {
      case '<': if (!(x < n)) return false; break;
      case '<=': if (!(x <= n)) return false; break;
      case '=': if (x !== n) return false; break;
      case '>': if (!(x > n)) return false; break;
      case '>=': if (!(x >= n)) return false; break;
    }
  }
  return true;
}

type Compiled = (value: Json | undefined) => boolean;

function compileObject(pattern: Record<string, Json>): Compiled {
  const checks = Object.entries(pattern).map(([key, rule]): Compiled => {
    if (Array.isArray(rule)) {
      const matchers = rule.map(ruleMatcher);
      return (obj) => {
        const present = isObject(obj) && Object.hasOwn(obj, key);
        const value = present ? (obj as Record<string, Json>)[key] : undefined;
        return matchers.some((m) => m(value, present));
      };
    }
    const inner = compileObject(rule as Record<string, Json>);
    return (obj) => inner(isObject(obj) ? (obj as Record<string, Json>)[key] : undefined);
  });
  return (value) => checks.every((check) => check(value));
}

function isObject(value: unknown): value is Record<string, Json> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Parses a pattern given as JSON text or as an object; throws with a clear message when invalid. */
export function parsePattern(pattern: string | object): Record<string, Json> {
  let value: unknown = pattern;
  if (typeof pattern === 'string') {
    try { value = JSON.parse(pattern); } catch { throw new Error('filter pattern is not valid JSON'); }
  }
  const problem = patternProblem(value);
  if (problem) throw new Error(`filter pattern: ${problem}`);
  return value as Record<string, Json>;
}

/** Compiles FilterCriteria patterns into one predicate; no patterns → everything passes. */
export function compileFilter(patterns: Array<string | object>): MessageFilter {
  if (patterns.length === 0) return () => true;
  const compiled = patterns.map((p) => compileObject(parsePattern(p)));
  return (message) => {
    let body: Json = message.body;
    try { body = JSON.parse(message.body) as Json; } catch { /* not JSON: match the text */ }
    const view: Json = { subject: message.subject, headers: message.headers as unknown as Json, body };
    return compiled.some((match) => match(view));
  };
}
