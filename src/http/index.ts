export { createApp, nodeClientAddress } from './app.ts';
export { isLoopback, secretsEqual } from './auth.ts';
export { readBody, readJsonBody, isJsonContentType } from './body.ts';
export { errorResponse, jsonResponse } from './respond.ts';
export { isSaneToken, requestIdFrom } from './request-id.ts';
export type { AdminRouter, AppDeps, AppEnv, ClientAddress } from './types.ts';
