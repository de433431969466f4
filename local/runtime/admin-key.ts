import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The header the Functions host reads the master key from (admin API). */
export const FUNCTIONS_KEY_HEADER = 'x-functions-key';

/** A new master key: 32 random bytes, URL-safe base64 (the host's keys look alike). */
export function newMasterKey(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Whether the request carries the master key in `x-functions-key`. Compared in constant time over digests, so
 * neither the key nor its length leaks through timing.
 */
export function hasMasterKey(req: IncomingMessage, masterKey: string): boolean {
  const given = req.headers[FUNCTIONS_KEY_HEADER];
  if (typeof given !== 'string' || given === '') return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(masterKey));
}
