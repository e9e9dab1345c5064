export { FunctionRuntime, CATASTROPHIC_EXIT_SIGNAL } from './runtime.ts';
export type { FunctionRuntimeOptions } from './runtime.ts';
