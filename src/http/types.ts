import type { Context, Hono } from 'hono';
import type { Config } from '../config.ts';
import type { AsyncInvoker } from '../events/types.ts';
import type { Invoker } from '../invoke/types.ts';
import type { Logger } from '../observability/logger.ts';
import type { FunctionRegistry } from '../registry/index.ts';

/** Values the app's middleware puts on every request context. */
export type AppEnv = { Variables: { requestId: string } };

/** The admin router (`/v1`) route registrars receive. */
export type AdminRouter = Hono<AppEnv>;

/** Finds the client's IP address for a request ('' when unknown). */
export type ClientAddress = (c: Context) => string;

/** Everything the HTTP layer needs; src/server.ts builds it. */
export interface AppDeps {
  invoker: Invoker;
  functions: FunctionRegistry;
  /** The async queue; without it `X-Invocation-Type: Event` answers 503 EventsUnavailable. */
  asyncInvoker?: AsyncInvoker;
  config: Config;
  log: Logger;
  /**
   * Extra admin routes, each called once with the `/v1` router after auth is in place, so
   * its routes are protected like the function routes (async config, event sources, logs …).
   */
  extraAdminRoutes?: Array<(v1: AdminRouter) => void>;
  /** Extra routes outside `/v1` and its auth (e.g. `GET /metrics`), called with the root app. */
  extraRoutes?: Array<(app: Hono<AppEnv>) => void>;
  /** Overrides how the client address is found (tests; the default reads the Node socket). */
  clientAddress?: ClientAddress;
}
