/** The `islet` command's pieces, for tools and tests that drive them without a child process. */
export { runCli, cliMain, USAGE } from './main.ts';
export { applyManifest, deployIfChanged, describeChange, desiredSettings, ApplyActions } from './apply.ts';
export type { ApplyAction, ApplyChange } from './apply.ts';
export { bundleFunction, BundleError, BUNDLE_CONDITIONS, BUNDLE_TARGET } from './bundle.ts';
export type { Bundle } from './bundle.ts';
export { loadManifest, parseManifest, findManifest, ManifestSchema, MANIFEST_FILES } from './manifest.ts';
export type { LoadedManifest, Manifest, ManifestFunction } from './manifest.ts';
export { ExitCodes, CliError, UsageError } from './errors.ts';
export type { ExitCode } from './errors.ts';
