/**
 * How long ARM asks us to wait before the next request, read from a response's headers.
 * ARM and the resource providers behind it use three spellings; the millisecond ones are more precise, so they win.
 */

/** The one header accessor this module needs; core-rest-pipeline's `HttpHeaders` satisfies it. */
export interface HeaderReader {
  get(name: string): string | undefined;
}

const NON_NEGATIVE_NUMBER = /^\d+(?:\.\d+)?$/;

/** Milliseconds from a `retry-after-ms`-style value; undefined when it is not a non-negative number. */
function parseMilliseconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!NON_NEGATIVE_NUMBER.test(trimmed)) return undefined;
  // Rounded up: waiting a fraction of a millisecond too long is harmless, too short is not.
  return Math.ceil(Number(trimmed));
}

/**
 * Milliseconds from a `Retry-After` value: delay-seconds, or an HTTP date measured against `nowMs`.
 * A date in the past means "now" (0). Anything else is undefined.
 */
function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (NON_NEGATIVE_NUMBER.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  // Only date-shaped values: Date.parse would otherwise accept odd strings such as "-5" or "1".
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * The delay ARM asked for, in milliseconds, or undefined when it gave no (valid) advice.
 * Precedence: `retry-after-ms`, then `x-ms-retry-after-ms`, then `Retry-After` (seconds or HTTP date).
 *
 * @param headers - the response headers (names are case-insensitive in `HttpHeaders`).
 * @param nowMs - the current time (epoch ms), to turn an HTTP date into a delay.
 */
export function retryAfterMsFromHeaders(headers: HeaderReader, nowMs: number): number | undefined {
  return (
    parseMilliseconds(headers.get('retry-after-ms')) ??
    parseMilliseconds(headers.get('x-ms-retry-after-ms')) ??
    parseRetryAfter(headers.get('retry-after'), nowMs)
  );
}
