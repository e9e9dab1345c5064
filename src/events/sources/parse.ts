import type { z } from 'zod';
import { IsletError } from '../../errors.ts';

/** Validates a request body; the first problem becomes a 400 InvalidConfig naming the field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const at = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return fail(`${at}${issue.message}`);
}

function fail(message: string): never {
  throw new IsletError('InvalidConfig', message.slice(0, 500));
}
