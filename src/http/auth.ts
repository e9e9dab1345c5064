import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { IsletError } from '../errors.ts';
import { SUBREQUEST_HEADER } from '../invoke/types.ts';
import { requestHeader } from './body.ts';
import type { ClientAddress } from './types.ts';

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses. */
export function isLoopback(address: string): boolean {
  const ip = address.toLowerCase();
  if (ip === '::1' || ip === '0:0:0:0:0:0:0:1') return true;
  const v4 = ip.startsWith('::ffff:') ? ip.slice('::ffff:'.length) : ip;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Compares secrets in constant time (hashing first so lengths do not leak either). */
export function secretsEqual(given: string, expected: string | Buffer): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = typeof expected === 'string' ? createHash('sha256').update(expected).digest() : expected;
  return timingSafeEqual(a, b);
}

/**
 * Guards the admin API. With a token: `Authorization: Bearer <token>` or 401. Without one:
 * loopback clients only, everyone else 403, and 403 for function subrequests (SUBREQUEST_HEADER),
 * which come from loopback too. Proxy headers (X-Forwarded-For) are not trusted.
 */
export function adminAuth(options: { token: string | undefined; clientAddress: ClientAddress }): MiddlewareHandler {
  const { token, clientAddress } = options;
  // Hashed once: secretsEqual compares hashes, so the token's digest need not be redone per request.
  const tokenDigest = token === undefined ? undefined : createHash('sha256').update(token).digest();
  return async (c, next) => {
    if (token !== undefined) {
      const header = requestHeader(c, 'authorization') ?? '';
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
      if (!match || !secretsEqual(match[1]!, tokenDigest!)) {
        throw new IsletError('Unauthorized', header ? 'the bearer token is wrong' : 'the admin API needs Authorization: Bearer <ISLET_ADMIN_TOKEN>', {
          headers: { 'WWW-Authenticate': 'Bearer realm="islet"' },
        });
      }
    } else if (!isLoopback(clientAddress(c))) {
      throw new IsletError('Forbidden', 'no ISLET_ADMIN_TOKEN is configured, so the admin API answers loopback clients only');
    } else if (requestHeader(c, SUBREQUEST_HEADER) !== undefined) {
      // A function's fetch() also comes from loopback; the runtime marks it, and functions cannot drop the mark.
      throw new IsletError('Forbidden', 'functions cannot use the admin API without ISLET_ADMIN_TOKEN');
    }
    await next();
  };
}
