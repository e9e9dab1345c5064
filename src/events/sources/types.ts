import { z } from 'zod';
import { FUNCTION_NAME_PATTERN } from '../../defaults.ts';
import { DLQ_SUBJECT_PREFIX } from '../async/jetstream.ts';
import { parseDestination } from '../destinations.ts';
import { patternProblem } from './filter.ts';

/** Registry collection the mappings are stored in. */
export const EVENT_SOURCES_COLLECTION = 'event-sources';

export const DEFAULT_BATCH_SIZE = 10;
export const MAX_BATCH_SIZE = 10_000;
export const DEFAULT_MAX_BATCHING_WINDOW_MS = 0;
export const MAX_BATCHING_WINDOW_MS = 300_000;
/** Batch payload cap, like Lambda's 6 MB invocation payload. */
export const MAX_BATCH_BYTES = 6 * 1024 * 1024;
/** Retries after the first attempt; -1 retries until maxRecordAgeSeconds (or forever). */
export const DEFAULT_MAX_RETRY_ATTEMPTS = 3;
export const MAX_RETRY_ATTEMPTS = 10_000;
/** -1: records never expire. */
export const DEFAULT_MAX_RECORD_AGE_SECONDS = -1;
export const MAX_RECORD_AGE_SECONDS = 604_800;
export const DEFAULT_MAPPING_CONCURRENCY = 2;
export const MAX_MAPPING_CONCURRENCY = 1_000;
/**
 * Dead-letter subject of a mapping in the ISLET_DLQ stream (shared with the async queue):
 * `islet.dlq.<function>.esm.<mappingId>`. The async queue's own entries sit on `islet.dlq.<function>`
 * and its list/redrive read only that literal subject, so the two never mix.
 */
export function deadLetterSubject(functionName: string, mappingId: string): string {
  return `${DLQ_SUBJECT_PREFIX}${functionName}.esm.${mappingId}`;
}

export const MappingStates = {
  creating: 'Creating', enabled: 'Enabled', disabling: 'Disabling', disabled: 'Disabled', updating: 'Updating', deleting: 'Deleting',
} as const;
export type MappingState = (typeof MappingStates)[keyof typeof MappingStates];

export const StartingPositions = { latest: 'LATEST', trimHorizon: 'TRIM_HORIZON', atTimestamp: 'AT_TIMESTAMP' } as const;
export type StartingPosition = (typeof StartingPositions)[keyof typeof StartingPositions];

const subjectToken = /^[^\s]+$/;
const streamName = /^[A-Za-z0-9_-]{1,64}$/;

const sourceSchema = z.union([
  z.object({ subject: z.string().min(1).max(256).regex(subjectToken, 'subject must not contain spaces') }).strict(),
  z.object({
    stream: z.string().regex(streamName, 'stream names use A-Z a-z 0-9 _ -'),
    filterSubject: z.string().min(1).max(256).regex(subjectToken).optional(),
  }).strict(),
]);

const patternSchema = z.union([z.string(), z.record(z.string(), z.unknown())]).superRefine((value, ctx) => {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try { parsed = JSON.parse(value); } catch { ctx.addIssue({ code: 'custom', message: 'pattern is not valid JSON' }); return; }
  }
  const problem = patternProblem(parsed);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Where given-up messages go: `nats:<subject>`, `function:<name>` or an http(s) URL (as async destinations). */
export const destinationSchema = z.string().max(2048).superRefine((value, ctx) => {
  try { parseDestination(value); } catch (err) { ctx.addIssue({ code: 'custom', message: (err as Error).message }); }
});
export type FailureDestination = z.infer<typeof destinationSchema>;

/** Settings a user may change after create. */
const settings = {
  batchSize: z.number().int().min(1).max(MAX_BATCH_SIZE),
  maxBatchingWindowMs: z.number().int().min(0).max(MAX_BATCHING_WINDOW_MS),
  filter: z.object({ filters: z.array(z.object({ pattern: patternSchema }).strict()).max(5) }).strict().nullable(),
  reportBatchItemFailures: z.boolean(),
  bisectOnError: z.boolean(),
  maxRetryAttempts: z.number().int().min(-1).max(MAX_RETRY_ATTEMPTS),
  maxRecordAgeSeconds: z.number().int().min(-1).max(MAX_RECORD_AGE_SECONDS).refine((n) => n !== 0, 'use -1 for no limit'),
  onFailure: destinationSchema.nullable(),
  maxConcurrency: z.number().int().min(1).max(MAX_MAPPING_CONCURRENCY),
  ordered: z.boolean(),
  enabled: z.boolean(),
};

/** `POST /v1/event-sources` body. */
export const createMappingSchema = z.object({
  function: z.string().regex(FUNCTION_NAME_PATTERN, 'function names match ^[A-Za-z0-9_-]{1,64}$'),
  source: sourceSchema,
  startingPosition: z.enum(['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP']).default('LATEST'),
  startingPositionTimestamp: z.iso.datetime({ offset: true }).optional(),
  batchSize: settings.batchSize.default(DEFAULT_BATCH_SIZE),
  maxBatchingWindowMs: settings.maxBatchingWindowMs.default(DEFAULT_MAX_BATCHING_WINDOW_MS),
  filter: settings.filter.default(null),
  reportBatchItemFailures: settings.reportBatchItemFailures.default(false),
  bisectOnError: settings.bisectOnError.default(false),
  maxRetryAttempts: settings.maxRetryAttempts.default(DEFAULT_MAX_RETRY_ATTEMPTS),
  maxRecordAgeSeconds: settings.maxRecordAgeSeconds.default(DEFAULT_MAX_RECORD_AGE_SECONDS),
  onFailure: settings.onFailure.default(null),
  maxConcurrency: settings.maxConcurrency.default(DEFAULT_MAPPING_CONCURRENCY),
  ordered: settings.ordered.default(false),
  enabled: settings.enabled.default(true),
}).strict().superRefine((v, ctx) => {
  if (v.startingPosition === 'AT_TIMESTAMP' && !v.startingPositionTimestamp) {
    ctx.addIssue({ code: 'custom', path: ['startingPositionTimestamp'], message: 'AT_TIMESTAMP needs startingPositionTimestamp' });
  }
  if (v.startingPosition !== 'AT_TIMESTAMP' && v.startingPositionTimestamp) {
    ctx.addIssue({ code: 'custom', path: ['startingPositionTimestamp'], message: 'only with startingPosition AT_TIMESTAMP' });
  }
});
export type CreateMappingInput = z.input<typeof createMappingSchema>;
export type MappingSpec = z.output<typeof createMappingSchema>;

/** `PUT /v1/event-sources/:id` body: any subset of the settings (function, source and position are fixed). */
export const updateMappingSchema = z.object({
  batchSize: settings.batchSize.optional(),
  maxBatchingWindowMs: settings.maxBatchingWindowMs.optional(),
  filter: settings.filter.optional(),
  reportBatchItemFailures: settings.reportBatchItemFailures.optional(),
  bisectOnError: settings.bisectOnError.optional(),
  maxRetryAttempts: settings.maxRetryAttempts.optional(),
  maxRecordAgeSeconds: settings.maxRecordAgeSeconds.optional(),
  onFailure: settings.onFailure.optional(),
  maxConcurrency: settings.maxConcurrency.optional(),
  ordered: settings.ordered.optional(),
  enabled: settings.enabled.optional(),
}).strict();
export type MappingUpdate = z.output<typeof updateMappingSchema>;

/** Counters since the mapping was created. */
export interface MappingCounters {
  /** Messages acknowledged after the function handled them. */
  processed: number;
  /** Messages that ended in the on-failure destination or the dead-letter stream. */
  failed: number;
  /** Messages skipped because no filter pattern matched. */
  filtered: number;
  /** Function invocations made for this mapping (batches, bisected halves and retries). */
  invocations: number;
}

/** A stored mapping as GET shows it. */
export interface EventSourceMapping extends MappingSpec {
  id: string;
  state: MappingState;
  /** Where messages are read: the stream and the consumer's filter subject. */
  stream: string;
  filterSubject?: string;
  /** True when islet created the stream for a plain subject (deleted with the mapping). */
  streamOwned: boolean;
  consumer: string;
  lastProcessingResult: string;
  lastModified: string;
  createdAt: string;
  counters: MappingCounters;
}
