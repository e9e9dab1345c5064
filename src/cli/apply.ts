import { isDeepStrictEqual } from 'node:util';
import { resolve } from 'node:path';
import type { IsletClient } from '@islet/sdk/client';
import type { AsyncConfig, EventSourceInput, EventSourceMapping, FunctionInfo, FunctionSettings } from '@islet/sdk';
import { DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS } from '../defaults.ts';
import { bundleFunction, type Bundle } from './bundle.ts';
import type { LoadedManifest, ManifestEventSource, ManifestFunction } from './manifest.ts';

export const ApplyActions = { created: 'created', updated: 'updated', unchanged: 'unchanged', deleted: 'deleted' } as const;
export type ApplyAction = (typeof ApplyActions)[keyof typeof ApplyActions];

/** What apply did to one resource. */
export interface ApplyChange {
  kind: 'function' | 'async-config' | 'event-source';
  /** Function name; for event sources `name` is the function and `id` the mapping. */
  name: string;
  id?: string;
  action: ApplyAction;
  /** Which fields differed (for `updated`). */
  changed?: string[];
  /** Trigger URLs (functions). */
  urls?: string[];
}

/** Settings a deploy sends; omitted optional ones are cleared so the server matches the source. */
export function desiredSettings(fn: Pick<ManifestFunction, 'memoryMb' | 'timeoutMs' | 'cpuMs' | 'env' | 'reservedConcurrency' | 'minWarm' | 'description'>): Required<FunctionSettings> {
  return {
    memoryMb: fn.memoryMb ?? DEFAULT_MEMORY_MB,
    timeoutMs: fn.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    cpuMs: fn.cpuMs ?? null,
    env: fn.env ?? {},
    reservedConcurrency: fn.reservedConcurrency ?? null,
    minWarm: fn.minWarm ?? null,
    description: fn.description ?? null,
  };
}

/** Names of the settings where the server's function differs from `desired`. */
export function settingsDiff(current: FunctionInfo['config'], desired: Required<FunctionSettings>): string[] {
  const changed: string[] = [];
  for (const key of Object.keys(desired) as Array<keyof FunctionSettings>) {
    const have = (current as Record<string, unknown>)[key] ?? null;
    if (!isDeepStrictEqual(have, desired[key])) changed.push(key);
  }
  return changed;
}

/** The trigger URL of a function (plus a route below it). */
export function triggerUrl(baseUrl: string, name: string, route = '/'): string {
  return `${baseUrl}/fn/${name}${route === '/' ? '/' : route}`;
}

/**
 * Deploys one bundled function only when its code or settings differ from the server's.
 * Returns what happened; `changed` lists `code` and the setting names that differed.
 */
export async function deployIfChanged(client: IsletClient, name: string, bundle: Bundle, settings: Required<FunctionSettings>): Promise<ApplyChange> {
  const current = await client.find(name);
  if (current === undefined) {
    await client.deploy(name, { code: bundle.code, ...settings });
    return { kind: 'function', name, action: 'created' };
  }
  const changed = settingsDiff(current.config, settings);
  const codeChanged = current.codeSha256 !== bundle.sha256;
  if (!codeChanged && changed.length === 0) return { kind: 'function', name, action: 'unchanged' };
  await client.deploy(name, codeChanged ? { code: bundle.code, ...settings } : settings);
  return { kind: 'function', name, action: 'updated', changed: codeChanged ? ['code', ...changed] : changed };
}

/** Progress callback for long steps. */
export type Progress = (text: string) => void;

/**
 * Applies a manifest: bundles every function, then creates/updates only what differs from the
 * server (functions first, then async configs, then event sources). A second apply with no
 * source change reports everything `unchanged`.
 */
export async function applyManifest(client: IsletClient, loaded: LoadedManifest, progress: Progress = () => {}): Promise<ApplyChange[]> {
  const entries = Object.entries(loaded.manifest.functions);
  const bundles = new Map<string, Bundle>();
  for (const [name, fn] of entries) {
    progress(`bundling ${name} (${fn.entry})`);
    bundles.set(name, await bundleFunction(resolve(loaded.dir, fn.entry), { cwd: loaded.dir }));
  }

  const changes: ApplyChange[] = [];
  for (const [name, fn] of entries) {
    const change = await deployIfChanged(client, name, bundles.get(name)!, desiredSettings(fn));
    change.urls = (fn.routes ?? ['/']).map((route) => triggerUrl(client.url, name, route));
    changes.push(change);
    progress(`${change.action} function ${name}`);
  }
  const created = new Set(changes.filter((c) => c.action === 'created').map((c) => c.name));
  for (const [name, fn] of entries) {
    if (fn.async !== undefined) changes.push(await applyAsyncConfig(client, name, fn.async, created.has(name)));
  }
  for (const [name, fn] of entries) {
    if (fn.eventSources !== undefined) changes.push(...await applyEventSources(client, name, fn.eventSources));
  }
  return changes;
}

/**
 * The server always answers an async config (defaults when none is set), so "created" means
 * the function itself was created by this apply.
 */
async function applyAsyncConfig(client: IsletClient, name: string, desired: AsyncConfig, functionCreated: boolean): Promise<ApplyChange> {
  const current = await client.asyncConfig.get(name) as unknown as Record<string, unknown>;
  // A destination left out means none: compare it as such, so removing one from the manifest is a change.
  const wanted: Record<string, unknown> = { onSuccess: null, onFailure: null, ...desired };
  const changed = Object.keys(wanted).filter((key) => !matchesSubset(current[key], wanted[key]));
  if (changed.length === 0) return { kind: 'async-config', name, action: 'unchanged' };
  await client.asyncConfig.put(name, desired);
  return { kind: 'async-config', name, action: functionCreated ? 'created' : 'updated', ...(functionCreated ? {} : { changed }) };
}

/** Settings of a mapping fixed at create: a change there means delete + create. */
const FIXED_MAPPING_KEYS = ['source', 'startingPosition', 'startingPositionTimestamp'];

async function applyEventSources(client: IsletClient, name: string, desired: ManifestEventSource[]): Promise<ApplyChange[]> {
  const existing = await client.eventSources.list(name);
  const unmatched = new Set<EventSourceMapping>(existing);
  const changes: ApplyChange[] = [];
  for (const spec of desired) {
    const match = [...unmatched].find((m) => isDeepStrictEqual(m.source, spec.source)
      && FIXED_MAPPING_KEYS.every((key) => spec[key] === undefined || isDeepStrictEqual((m as unknown as Record<string, unknown>)[key], spec[key])));
    if (match === undefined) {
      const created = await client.eventSources.create({ ...spec, function: name } as EventSourceInput);
      changes.push({ kind: 'event-source', name, id: created.id, action: 'created' });
      continue;
    }
    unmatched.delete(match);
    const update: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(spec)) {
      if (FIXED_MAPPING_KEYS.includes(key)) continue;
      if (!matchesSubset((match as unknown as Record<string, unknown>)[key], value)) update[key] = value;
    }
    if (Object.keys(update).length === 0) {
      changes.push({ kind: 'event-source', name, id: match.id, action: 'unchanged' });
      continue;
    }
    await client.eventSources.update(match.id, update);
    changes.push({ kind: 'event-source', name, id: match.id, action: 'updated', changed: Object.keys(update) });
  }
  for (const stale of unmatched) {
    await client.eventSources.delete(stale.id);
    changes.push({ kind: 'event-source', name, id: stale.id, action: 'deleted' });
  }
  return changes;
}

/**
 * True when `actual` has everything `desired` asks for: objects compare key by key (the
 * server may add defaults), a null/undefined wish matches a missing value, arrays match exactly.
 */
export function matchesSubset(actual: unknown, desired: unknown): boolean {
  if (desired === null || desired === undefined) return actual === null || actual === undefined;
  if (Array.isArray(desired)) {
    return Array.isArray(actual) && actual.length === desired.length && desired.every((d, i) => matchesSubset(actual[i], d));
  }
  if (typeof desired === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(desired).every(([key, value]) => matchesSubset((actual as Record<string, unknown>)[key], value));
  }
  return isDeepStrictEqual(actual, desired);
}

/** One human line per change: `created  function hello  http://…/fn/hello/`. */
export function describeChange(change: ApplyChange): string {
  const what = change.kind === 'event-source' ? `event-source ${change.name}${change.id ? ` (${change.id})` : ''}` : `${change.kind} ${change.name}`;
  const detail = change.changed && change.changed.length > 0 ? ` [${change.changed.join(', ')}]` : '';
  const urls = change.urls && change.urls.length > 0 ? `  ${change.urls.join(' ')}` : '';
  return `${change.action.padEnd(9)} ${what}${detail}${urls}`;
}
