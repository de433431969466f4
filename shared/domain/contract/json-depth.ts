/**
 * A nesting limit checked before any other work on an input: validation, fingerprinting and redaction walk the
 * value recursively, and JSON nested a few thousand levels deep (4 KB is enough) would overflow the stack there —
 * a 500 over HTTP, and on the queue a crash on every delivery. No change request comes near the limit: the deepest
 * legitimate path (`body.properties.credentials.header["x"][0]`) is 6 levels.
 */
import type { ErrorBody } from './error-response';

/** The deepest nesting of objects and arrays accepted. */
export const MAX_JSON_DEPTH = 64;

/**
 * True when `value` nests objects/arrays deeper than `limit`. A bounded recursive walk answers first (no allocation:
 * the usual request is a few levels deep); only when it finds a path deeper than `limit`, or visits more than
 * `NODE_BUDGET` nodes (shared sub-objects can multiply paths; JSON has none), does the exact iterative walk decide.
 * The walk's "not deeper" is exact: it follows every path, and the iterative walk's depth of a node is the length
 * of one of them.
 */
export function exceedsDepth(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  budget = NODE_BUDGET;
  return !withinDepth(value, limit) && exceedsDepthExact(value, limit);
}

const NODE_BUDGET = 10_000;
let budget = NODE_BUDGET;

/** True when every path below `value` nests at most `remaining` objects/arrays (false also when out of budget). */
function withinDepth(value: unknown, remaining: number): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (remaining === 0 || --budget < 0) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!withinDepth(value[i], remaining - 1)) return false;
    return true;
  }
  for (const key in value) {
    if (Object.hasOwn(value, key) && !withinDepth((value as Record<string, unknown>)[key], remaining - 1)) return false;
  }
  return true;
}

/** The exact answer, iterative so it cannot overflow itself; each object is visited once. */
function exceedsDepthExact(value: unknown, limit: number): boolean {
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
