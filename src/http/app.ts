import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { IsletError, isIsletError } from '../errors.ts';
import { adminAuth } from './auth.ts';
import { adminFunctionRoutes } from './admin-functions.ts';
import { nodePair, requestHeader } from './body.ts';
import { errorResponse, jsonResponse } from './respond.ts';
import { requestIdFrom } from './request-id.ts';
import { triggerRoutes } from './triggers.ts';
import type { AppDeps, AppEnv, ClientAddress } from './types.ts';

/** Reads the peer address from the Node socket (@hono/node-server puts `incoming` in env). */
export const nodeClientAddress: ClientAddress = (c) => {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? '';
};

/**
 * Builds the Hono app: `GET /healthz`, triggers under `/fn/:name`, the admin API under `/v1`
 * (behind auth), plus any routes other parts register. Errors map to JSON in one place.
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { log } = deps;
  const clientAddress = deps.clientAddress ?? nodeClientAddress;
  const startedAt = Date.now();
  const app = new Hono<AppEnv>();

  app.use('*', async (c, next) => {
    c.set('requestId', requestIdFrom(requestHeader(c, 'x-request-id')));
    await next();
    const outgoing = nodePair(c)?.outgoing;
    if (outgoing !== undefined && !outgoing.headersSent) {
      // On Node the header goes on the ServerResponse (writeHead merges it in): touching
      // c.res.headers would turn @hono/node-server's cheap plain-object response into a
      // WHATWG Headers one on every request. Responses never carry their own X-Request-Id
      // (httpResultResponse drops a function's), so this one is the only value.
      outgoing.setHeader('X-Request-Id', c.get('requestId'));
      return;
    }
    try {
      c.res.headers.set('X-Request-Id', c.get('requestId'));
    } catch {
      // Immutable headers (a Response passed through as is): copy it once.
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set('X-Request-Id', c.get('requestId'));
    }
  });

  app.onError((err, c) => {
    if (isIsletError(err)) return errorResponse(err);
    // Hono's own helpers (validators, body parsing in added routes) throw these for client errors.
    if (err instanceof HTTPException && err.status < 500) {
      const code = err.status === 404 ? 'NotFound' : err.status === 401 ? 'Unauthorized' : err.status === 413 ? 'PayloadTooLarge' : err.status === 415 ? 'UnsupportedMediaType' : 'BadRequest';
      return errorResponse(new IsletError(code, err.message || 'bad request'));
    }
    log.error({ err, requestId: c.get('requestId'), method: c.req.method, path: c.req.path }, 'request failed');
    return errorResponse(new IsletError('InternalError', `internal error; request id ${c.get('requestId')}`));
  });

  app.notFound((c) => errorResponse(new IsletError('NotFound', `no route for ${c.req.method} ${new URL(c.req.url).pathname.slice(0, 200)}`)));

  app.get('/healthz', async () => jsonResponse({
    status: 'ok',
    uptimeS: Math.round((Date.now() - startedAt) / 1000),
    functions: await deps.functions.count(),
  }, 200, { 'cache-control': 'no-store' }));

  triggerRoutes(app, { ...deps, clientAddress });

  const v1 = new Hono<AppEnv>();
  v1.use('*', adminAuth({ token: deps.config.ISLET_ADMIN_TOKEN, clientAddress }));
  adminFunctionRoutes(v1, deps);
  for (const register of deps.extraAdminRoutes ?? []) register(v1);
  app.route('/v1', v1);

  for (const register of deps.extraRoutes ?? []) register(app);
  return app;
}
