/**
 * @islet/sdk: types and helpers for function authors, and a typed client for the admin API.
 * Function code should import from `@islet/sdk/handler` (no Node APIs); tools and tests use
 * the client from `@islet/sdk/client` or this entry.
 */
export { defineBatchHandler, defineFetch, defineHandler, defineWorker } from './handler.ts';
export type {
  BatchEvent, BatchRecord, BatchResponse, Context, Env, ExecutionContext, ExportedHandler, FunctionUrlEvent,
  FunctionUrlResult, Handler, Message, MessageBatch,
} from './handler.ts';
export { DEFAULT_ISLET_URL, IsletApiError, IsletClient, IsletConnectionError } from './client.ts';
export type { IsletClientOptions } from './client.ts';
export { readSse } from './sse.ts';
export type { SseEvent } from './sse.ts';
export type {
  AsyncConfig, AsyncConfigInfo, DeadLetter, DeployInput, Destination, EventSourceInput, EventSourceMapping, EventSourceUpdate,
  FunctionErrorPayload, FunctionInfo, FunctionSettings, InvocationRecord, InvocationStatus, InvocationType, InvokeOptions, InvokeResult,
  LogRecord, LogsQuery,
} from './types.ts';
