export { EventSourceManager, consumerName, ownedStreamName } from './manager.ts';
export type { EventSourceManagerDeps, EventSourceNats, FailureDelivery } from './manager.ts';
export { compileFilter, parsePattern } from './filter.ts';
export type { MessageFilter, FilterInput } from './filter.ts';
export { failureRecord } from './failure.ts';
export type { EventSourceFailureRecord, BatchInfo } from './failure.ts';
export { DEFAULT_WORKER_TIMING } from './worker.ts';
export type { WorkerTiming, FailedBatch, FailureCondition } from './worker.ts';
export {
  EVENT_SOURCES_COLLECTION, MappingStates, StartingPositions, deadLetterSubject,
  createMappingSchema, updateMappingSchema,
} from './types.ts';
export type { EventSourceMapping, MappingState, MappingCounters, FailureDestination, CreateMappingInput } from './types.ts';
