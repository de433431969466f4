/**
 * Compares a resource as ARM returns it with the state a write asked for. ARM answers with more than was sent
 * (ids, defaults, nulls for absent fields), so "applied" means the desired document is a deep subset of the current
 * one. Used to recognise a write that already landed when its outcome was unknown, to skip unchanged writes, and to
 * describe dry-run plans.
 *
 * Rules, shared by both functions:
 * - every key in desired must equal current's key; keys only in current are ignored;
 * - objects compare recursively by the same rule;
 * - arrays must have the same length and their elements compare position by position (by the same rule);
 * - other values compare with `===`; a desired `null` also matches an absent key (ARM writes absent fields as null).
 */

import { childPath } from './json-path';
import { isRecord } from './is-record';

/** One difference: where (a path from the document root), what ARM has, what was asked for. */
export interface Change {
  path: string;
  from: unknown;
  to: unknown;
}

/** An own property only: a key such as `__proto__` must not reach the prototype. */
function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function sameLeaf(current: unknown, desired: unknown): boolean {
  if (desired === null) return current === null || current === undefined;
  return current === desired;
}

/**
 * True when every key in `desired` is present in `current` with an equal value (see the module rules).
 *
 * @param current - the resource as ARM returned it (e.g. a GET body).
 * @param desired - the body the write sent, or the part of it that matters.
 */
export function isApplied(current: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) {
    if (!Array.isArray(current) || current.length !== desired.length) return false;
    for (let i = 0; i < desired.length; i++) {
      if (!isApplied(current[i], desired[i])) return false;
    }
    return true;
  }
  if (isRecord(desired)) {
    if (!isRecord(current)) return false;
    for (const key of Object.keys(desired)) {
      const wanted = desired[key];
      if (wanted === undefined) continue; // JSON has no undefined: such a key is not sent
      if (!isApplied(own(current, key), wanted)) return false;
    }
    return true;
  }
  return sameLeaf(current, desired);
}

function collect(current: unknown, desired: unknown, path: string, out: Change[]): void {
  if (Array.isArray(desired)) {
    if (Array.isArray(current) && current.length === desired.length) {
      for (let i = 0; i < desired.length; i++) collect(current[i], desired[i], childPath(path, i), out);
    } else if (!isApplied(current, desired)) {
      // A different length replaces the whole array; per-index changes would misdescribe it.
      out.push({ path, from: current, to: desired });
    }
    return;
  }
  if (isRecord(desired)) {
    // Descend even when current lacks the object, so each change names a leaf (and redaction can go by path).
    const here = isRecord(current) ? current : undefined;
    if (here === undefined && current !== undefined && current !== null) {
      out.push({ path, from: current, to: desired });
      return;
    }
    const before = out.length;
    for (const key of Object.keys(desired)) {
      const wanted = desired[key];
      if (wanted === undefined) continue;
      collect(here === undefined ? undefined : own(here, key), wanted, childPath(path, key), out);
    }
    // A missing object is a change even when nothing inside it differs from "absent" (e.g. `{}` or only nulls).
    if (here === undefined && out.length === before) out.push({ path, from: current, to: desired });
    return;
  }
  if (!sameLeaf(current, desired)) out.push({ path, from: current, to: desired });
}

/**
 * The differences between `current` and `desired`, only for keys present in `desired`, in document order.
 * Paths look like `properties.url` or `properties.pool.services[0].weight`; names that are not identifiers are
 * quoted (`properties.credentials.header["x-api-key"]`). Empty exactly when `isApplied(current, desired)`.
 * Values are returned as they are: redacting secrets is the caller's job.
 */
export function diffChanges(current: unknown, desired: unknown): Change[] {
  const out: Change[] = [];
  collect(current, desired, '', out);
  return out;
}
