import { randomUUID } from 'node:crypto';
import { IsletError } from '../errors.ts';

/** Incoming request ids we honour: short, printable tokens that are safe in logs and headers. */
const SANE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The client's `X-Request-Id` when it is a sane token, else a fresh UUID. */
export function requestIdFrom(header: string | undefined | null): string {
  return header && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** True when `value` may be used as an id taken from a client (request ids and the like). */
export function isSaneToken(value: string | undefined | null): value is string {
  return !!value && SANE_REQUEST_ID.test(value);
}

/** Longest `Idempotency-Key` taken (the queue hashes keys, so any printable text works). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

/**
 * The queue options for an `Idempotency-Key` header: none without one, BadRequest for a blank,
 * overlong or non-ASCII key (silently dropping it would run a retried request twice).
 */
export function idempotencyOptions(header: string | undefined): { idempotencyKey: string } | undefined {
  if (header === undefined) return undefined;
  if (header.length === 0 || header.length > MAX_IDEMPOTENCY_KEY_LENGTH || header.trim() === '' || !/^[\x20-\x7e]+$/.test(header)) {
    throw new IsletError('BadRequest', `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`);
  }
  return { idempotencyKey: header };
}
