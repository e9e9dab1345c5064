import { defineHandler } from '@islet/sdk/handler';

interface JobEvent {
  jobId: string;
  /** Numbers to add up. */
  items: number[];
}

interface JobResult {
  jobId: string;
  total: number;
  count: number;
}

/**
 * Lambda style, meant for async invocation (`islet invoke job --async`, or an HTTP trigger with
 * `X-Invocation-Type: Event`). The result goes to the onSuccess destination; a throw, after
 * the configured retries, goes to onFailure with the error.
 */
export const handler = defineHandler<JobEvent, JobResult>(async (event, context) => {
  if (typeof event?.jobId !== 'string') throw new TypeError('jobId must be a string');
  if (!Array.isArray(event.items) || event.items.some((n) => typeof n !== 'number' || !Number.isFinite(n))) {
    throw new RangeError(`job ${event.jobId}: items must be finite numbers`);
  }
  console.log(`job ${event.jobId}: ${event.items.length} items (request ${context.awsRequestId})`);
  const total = event.items.reduce((sum, n) => sum + n, 0);
  return { jobId: event.jobId, total, count: event.items.length };
});
