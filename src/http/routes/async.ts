import { MAX_DEAD_LETTER_LIMIT, DEFAULT_DEAD_LETTER_LIMIT, parseAsyncConfig, type AsyncQueue } from '../../events/async/index.ts';
import { IsletError } from '../../errors.ts';
import type { FunctionRegistry } from '../../registry/index.ts';
import { readJsonBody } from '../body.ts';
import { jsonResponse } from '../respond.ts';
import type { AdminRouter } from '../types.ts';

/** Async configs are a few small fields. */
const MAX_ASYNC_CONFIG_BODY_BYTES = 16 * 1024;

/** What the async routes need. */
export interface AsyncRouteDeps {
  queue: AsyncQueue;
  functions: FunctionRegistry;
}

function limitParam(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_DEAD_LETTER_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_DEAD_LETTER_LIMIT) throw new IsletError('BadRequest', `limit must be an integer from 1 to ${MAX_DEAD_LETTER_LIMIT}`);
  return n;
}

/**
 * Async invocation admin routes: `/functions/:name/async-config` (PUT/GET/DELETE),
 * `/functions/:name/dead-letters` (GET, POST …/redrive) and `/invocations/:requestId`.
 * Register with `extraAdminRoutes: [(v1) => asyncRoutes(v1, deps)]`.
 */
export function asyncRoutes(v1: AdminRouter, deps: AsyncRouteDeps): void {
  const { queue, functions } = deps;

  v1.put('/functions/:name/async-config', async (c) => {
    const name = c.req.param('name');
    await functions.get(name);
    const body = await readJsonBody(c, MAX_ASYNC_CONFIG_BODY_BYTES);
    const config = parseAsyncConfig(body?.value ?? {});
    await queue.configs.put(name, config);
    return jsonResponse({ functionName: name, ...config }, 200);
  });

  v1.get('/functions/:name/async-config', async (c) => {
    const name = c.req.param('name');
    await functions.get(name);
    return jsonResponse({ functionName: name, ...(await queue.configs.get(name)) }, 200);
  });

  v1.delete('/functions/:name/async-config', async (c) => {
    const name = c.req.param('name');
    await functions.get(name);
    return jsonResponse({ functionName: name, deleted: await queue.configs.delete(name) }, 200);
  });

  v1.get('/functions/:name/dead-letters', async (c) => {
    const name = c.req.param('name');
    await functions.get(name);
    const limit = limitParam(c.req.query('limit'));
    await queue.assertReady();
    const deadLetters = await queue.deadLetters.list(name, limit);
    return jsonResponse({ functionName: name, deadLetters }, 200);
  });

  v1.post('/functions/:name/dead-letters/redrive', async (c) => {
    const name = c.req.param('name');
    await functions.get(name);
    const limit = c.req.query('limit') === undefined ? MAX_DEAD_LETTER_LIMIT : limitParam(c.req.query('limit'));
    await queue.assertReady();
    return jsonResponse({ functionName: name, redriven: await queue.deadLetters.redrive(name, limit) }, 200);
  });

  v1.get('/invocations/:requestId', async (c) => jsonResponse(await queue.invocationStatus(c.req.param('requestId')), 200));
}
