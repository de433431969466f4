/**
 * What ARM's answers say about a subscription's writes bucket: the `x-ms-ratelimit-remaining-subscription-*` headers
 * and a 429, read into a {@link WriteObservation} for the write limiter.
 */
import type { HeaderReader } from './retry-after';

/** The header carrying the tokens left in the subscription's writes bucket. */
export const REMAINING_WRITES_HEADER = 'x-ms-ratelimit-remaining-subscription-writes';
/** The header carrying the tokens left in the subscription's deletes bucket (a separate bucket in public ARM). */
export const REMAINING_DELETES_HEADER = 'x-ms-ratelimit-remaining-subscription-deletes';

/** What an answer to a write said about the writes bucket. */
export interface WriteObservation {
  /** ARM refused the write because the writes bucket was empty (429). */
  throttled: boolean;
  /** `x-ms-ratelimit-remaining-subscription-writes`, when present. */
  remaining?: number | undefined;
  /** ARM's Retry-After advice in ms, for a throttled write. */
  retryAfterMs?: number | undefined;
}

/** Parses a remaining-budget header: a non-negative integer, else undefined. */
function parseRemaining(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return /^\d{1,9}$/.test(trimmed) ? Number(trimmed) : undefined;
}

/**
 * What an answer to a write tells the write limiter, or undefined when it tells nothing about the writes bucket
 * (a DELETE answered from ARM's separate deletes bucket).
 *
 * @param method - the HTTP method of the write.
 * @param status - the answer's status.
 * @param headers - the answer's headers.
 * @param retryAfterMs - the Retry-After advice already read from the headers (see `retryAfterMsFromHeaders`).
 */
export function writeObservationOf(
  method: string,
  status: number,
  headers: HeaderReader,
  retryAfterMs: number | undefined,
): WriteObservation | undefined {
  const remaining = parseRemaining(headers.get(REMAINING_WRITES_HEADER));
  if (remaining === undefined && method === 'DELETE' && headers.get(REMAINING_DELETES_HEADER) !== undefined) {
    return undefined;
  }
  if (status === 429) return { throttled: true, remaining, retryAfterMs };
  return { throttled: false, remaining };
}

/** `remaining` from the writes header of any answer, for `WriteLimiter.noteRemaining`. */
export function remainingWritesOf(headers: HeaderReader): number | undefined {
  return parseRemaining(headers.get(REMAINING_WRITES_HEADER));
}
