export { FunctionRuntime, CATASTROPHIC_EXIT_CODE } from './runtime.ts';
export type { FunctionRuntimeOptions } from './runtime.ts';
