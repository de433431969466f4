/**
 * A nesting limit checked before any other work on an input: validation, fingerprinting and redaction walk the
 * value recursively, and JSON nested a few thousand levels deep (4 KB is enough) would overflow the stack there —
 * a 500 over HTTP, and on the queue a crash on every delivery. No change request comes near the limit: the deepest
 * legitimate path (`body.properties.credentials.header["x"][0]`) is 6 levels.
 */
import type { ErrorBody } from './error-response';

/** The deepest nesting of objects and arrays accepted. */
export const MAX_JSON_DEPTH = 64;

/** True when `value` nests objects/arrays deeper than `limit`. Iterative, so it cannot overflow itself. */
export function exceedsDepth(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  const stack: Array<{ item: unknown; depth: number }> = [{ item: value, depth: 0 }];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const { item, depth } = stack.pop()!;
    if (item === null || typeof item !== 'object' || seen.has(item)) continue;
    if (depth + 1 > limit) return true;
    seen.add(item);
    const children: unknown[] = Array.isArray(item) ? item : Object.values(item as Record<string, unknown>);
    for (const child of children) {
      if (child !== null && typeof child === 'object') stack.push({ item: child, depth: depth + 1 });
    }
  }
  return false;
}

/** The refusal of an input nested too deeply; `$` (the whole input) is the offending field. */
export function tooDeepError(limit = MAX_JSON_DEPTH): ErrorBody {
  const message = `The input nests objects and arrays more than ${limit} levels deep.`;
  return { code: 'ValidationError', message, details: [{ code: 'TooDeep', target: '$', message }] };
}

/**
 * What may safely be read from a too-deep input to correlate the refusal: its top-level `requestId` and
 * `operation` when they are strings, nothing nested (that is what must not be walked).
 */
export function shallowIdentity(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return out;
  for (const key of ['requestId', 'operation', 'target']) {
    const value = (raw as Record<string, unknown>)[key];
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}
