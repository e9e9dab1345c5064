import { createHash } from 'node:crypto';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message, type Plugin } from 'esbuild';
import { MAX_CODE_BYTES } from '../defaults.ts';

/** The SDK shipped with this CLI: `@islet/sdk` resolves here when the project has no copy. */
const SDK_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../sdk');
const SDK_FILES: Record<string, string> = {
  '@islet/sdk': 'index.ts',
  '@islet/sdk/handler': 'handler.ts',
  '@islet/sdk/client': 'client.ts',
};

/** esbuild's target: what the isolate's V8 runs without lowering. */
export const BUNDLE_TARGET = 'es2023';
/** Package conditions tried first, so packages pick their Workers / browser builds. */
export const BUNDLE_CONDITIONS = ['workerd', 'worker', 'browser'];

/** One bundled function: a single ES module with no imports. */
export interface Bundle {
  code: string;
  /** Hex sha256 of `code` (the server stores the same as `codeSha256`). */
  sha256: string;
  /** Absolute paths of every file that went in (for `islet dev`'s watcher). */
  inputs: string[];
  warnings: string[];
}

/** A bundling failure; `message` lists each error as `file:line:column: text`. */
export class BundleError extends Error {
  override name = 'BundleError';
  readonly errors: string[];

  constructor(errors: string[]) {
    super(`bundling failed:\n${errors.map((e) => `  ${e}`).join('\n')}`);
    this.errors = errors;
  }
}

/**
 * Bundles `entry` (TS or JS) and its npm dependencies into one ES module with esbuild.
 * Node built-ins cannot be bundled: functions run in a V8 isolate with web APIs only.
 */
export async function bundleFunction(entry: string, options: { cwd?: string; minify?: boolean } = {}): Promise<Bundle> {
  const cwd = options.cwd ?? process.cwd();
  const entryPath = resolve(cwd, entry);
  let result;
  try {
    result = await build({
      entryPoints: [entryPath],
      absWorkingDir: cwd,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: BUNDLE_TARGET,
      conditions: BUNDLE_CONDITIONS,
      mainFields: ['browser', 'module', 'main'],
      resolveExtensions: ['.ts', '.tsx', '.mts', '.js', '.mjs', '.jsx', '.cjs', '.json'],
      minify: options.minify ?? false,
      write: false,
      metafile: true,
      logLevel: 'silent',
      legalComments: 'none',
      plugins: [isletSdkPlugin(), nodeBuiltinsPlugin()],
    });
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) throw new BundleError(errors.map((m) => formatMessage(m, cwd)));
    throw err;
  }
  const file = result.outputFiles[0];
  if (file === undefined) throw new BundleError([`${entry}: esbuild produced no output`]);
  const code = file.text;
  if (Buffer.byteLength(code) > MAX_CODE_BYTES) {
    throw new BundleError([`${entry}: the bundle is ${Buffer.byteLength(code)} bytes, over the ${MAX_CODE_BYTES}-byte cap`]);
  }
  return {
    code,
    sha256: sha256(code),
    inputs: Object.keys(result.metafile.inputs).map((p) => resolve(cwd, p)),
    warnings: result.warnings.map((m) => formatMessage(m, cwd)),
  };
}

/** Hex sha256 of a string's UTF-8 bytes. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `file:line:column: text`, paths relative to cwd, as compilers print them. */
export function formatMessage(message: Message, cwd: string): string {
  const loc = message.location;
  const where = loc ? `${relative(cwd, resolve(cwd, loc.file)) || loc.file}:${loc.line}:${loc.column + 1}: ` : '';
  // esbuild's notes suggest `external` or `platform: 'node'`, neither of which helps an isolate.
  const notes = message.notes.map((n) => n.text).filter((t) => t !== '' && !/external|platform/i.test(t));
  const missing = /^Could not resolve "([^"./][^"]*)"$/.exec(message.text)?.[1];
  if (missing !== undefined && notes.length === 0) notes.push(`is it installed? run: npm install ${packageName(missing)}`);
  return `${where}${message.text}${notes.length > 0 ? ` (${notes.join(' ')})` : ''}`;
}

/** `@scope/pkg/sub` → `@scope/pkg`; `pkg/sub` → `pkg`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function isletSdkPlugin(): Plugin {
  return {
    name: 'islet-sdk',
    setup(b) {
      b.onResolve({ filter: /^@islet\/sdk(\/(handler|client))?$/ }, (args) => {
        const file = SDK_FILES[args.path];
        return file === undefined ? undefined : { path: resolve(SDK_DIR, file) };
      });
    },
  };
}

const BUILTIN_HINT = 'is a Node built-in; islet functions run in a V8 isolate with web APIs only (fetch, crypto, URL, …)';

function nodeBuiltinsPlugin(): Plugin {
  return {
    name: 'islet-no-node-builtins',
    setup(b) {
      b.onResolve({ filter: /^node:/ }, (args) => ({ errors: [{ text: `"${args.path}" ${BUILTIN_HINT}` }] }));
      // A bare name like "events" or "buffer" may be an npm polyfill in node_modules: use it when it resolves.
      const bare = builtinModules.filter((m) => !m.startsWith('_') && !m.startsWith('node:')).map((m) => m.replace(/[/]/g, '\\/'));
      const filter = new RegExp(`^(${bare.join('|')})(/.*)?$`);
      b.onResolve({ filter }, async (args) => {
        if ((args.pluginData as { islet?: boolean } | undefined)?.islet) return undefined;
        const found = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { islet: true } });
        if (found.errors.length === 0) return { path: found.path, namespace: found.namespace, sideEffects: found.sideEffects };
        return { errors: [{ text: `"${args.path}" ${BUILTIN_HINT}` }] };
      });
    },
  };
}
