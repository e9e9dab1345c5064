export { FileStore, FUNCTIONS_COLLECTION } from './file-store.ts';
export { FunctionRegistry, assertFunctionName, toFunctionInfo, LATEST_VERSION } from './function-registry.ts';
export type { FunctionInfo } from './function-registry.ts';
export { parseDeployBody, DeployBodySchema, DEFAULT_FUNCTION_CONFIG } from './schema.ts';
export type { DeployBody } from './schema.ts';
export type { FunctionConfig, FunctionRecord, HandlerShape, RegistryChange, RegistryStore } from './types.ts';
