import { diffChanges } from './desired-state';
import type { BackendScope } from './backend-id';
import { resolvedMemberKey } from './contract/pool-member';
import type { Operation, Plan, PlannedChange } from './contract/outcome';
import { redactSecrets, splitPath } from './redact';
import { isRecord } from './is-record';
import { childPath } from './json-path';

/** Response-only fields of a BackendContract: never part of a desired state. */
const RESPONSE_ONLY = new Set(['id', 'type', 'name']);

/**
 * Fields the service computes and adds to what was written (recorded: a Service Fabric backend's
 * `clientCertificateThumbprint`, derived from `clientCertificateId`). A request cannot set them, so they are never
 * part of a desired state, and their appearance is no change.
 */
const SERVER_COMPUTED: ReadonlyArray<readonly string[]> = [
  ['properties', 'properties', 'serviceFabricCluster', 'clientCertificateThumbprint'],
];

/**
 * The desired-state view of an ARM backend body: `{ properties }` without response-only fields, server-computed
 * fields or nulls (ARM answers `"title": null` for every backend without a title).
 */
export function comparableState(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object') return {};
  // Keys and lookups rather than Object.entries: no [key, value] pair per property (this runs on every write).
  const source = body as Record<string, unknown>;
  const keys = Object.keys(source);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (RESPONSE_ONLY.has(key)) continue;
    out[key] = dropNulls(source[key]);
  }
  for (const path of SERVER_COMPUTED) deleteAt(out, path);
  return out;
}

/**
 * True when {@link comparableState} of `body` holds exactly what `body` holds — an object without response-only or
 * server-computed fields, without nulls and without `__proto__` keys (conservative: a null anywhere says false) —
 * so its canonical JSON is the body's own. The state hash of a createOrUpdate is then taken from the walk that
 * fingerprinted the request (fingerprint.ts) instead of a copy and a second walk.
 */
export function comparableAsIs(body: unknown): boolean {
  if (!isRecord(body)) return false;
  const keys = Object.keys(body);
  for (let i = 0; i < keys.length; i++) if (RESPONSE_ONLY.has(keys[i]!)) return false;
  for (const path of SERVER_COMPUTED) if (holdsPath(body, path)) return false;
  return withoutNullsOrProto(body);
}

function holdsPath(root: Record<string, unknown>, path: readonly string[]): boolean {
  let node: unknown = root;
  for (const key of path) {
    if (!isRecord(node) || !Object.hasOwn(node, key)) return false;
    node = node[key];
  }
  return true;
}

function withoutNullsOrProto(value: unknown): boolean {
  if (value === null) return false;
  if (typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!withoutNullsOrProto(value[i])) return false;
    return true;
  }
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source);
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] === '__proto__' || !withoutNullsOrProto(source[keys[i]!])) return false;
  }
  return true;
}

/** Removes the member at `path` (dropNulls made every object on it a fresh copy, so nothing shared changes). */
function deleteAt(root: Record<string, unknown>, path: readonly string[]): void {
  let node: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    if (!isRecord(node)) return;
    node = Object.hasOwn(node, key) ? node[key] : undefined;
  }
  const last = path[path.length - 1];
  if (isRecord(node) && last !== undefined) delete node[last];
}

// A pool's response carries `title`, `url`, `protocol` as null: absent and null mean the same to ARM here.
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value === null || typeof value !== 'object') return value;
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const item = source[keys[i]!];
    if (item !== null) out[keys[i]!] = dropNulls(item);
  }
  return out;
}

/**
 * Pool member ids name one backend in two forms (`/backends/x` relative to the pool's scope, or the full ARM id, in
 * any case): where current and desired name the same backend at the same position, the current one is read in the
 * desired spelling, so a GET answering in the other form is no change.
 */
function alignMemberIds(now: Record<string, unknown>, desired: unknown, scope: BackendScope): void {
  const members = (body: unknown): unknown[] | undefined => {
    const properties = isRecord(body) ? body.properties : undefined;
    const pool = isRecord(properties) ? properties.pool : undefined;
    return isRecord(pool) && Array.isArray(pool.services) ? pool.services : undefined;
  };
  const have = members(now);
  const want = members(desired);
  if (have === undefined || want === undefined) return;
  have.forEach((item, i) => {
    const wanted = want[i];
    if (!isRecord(item) || !isRecord(wanted) || typeof item.id !== 'string' || typeof wanted.id !== 'string') return;
    const key = resolvedMemberKey(item.id, scope);
    if (key !== undefined && key === resolvedMemberKey(wanted.id, scope)) item.id = wanted.id;
  });
}

/**
 * The changes a request would make to `current` (null: the backend does not exist).
 * createOrUpdate replaces the properties, so keys only in `current` are listed as removals; update merges, so only
 * the keys it names are compared. Values are redacted by their path. With the backend's `scope`, pool member ids
 * compare by the backend they resolve to.
 */
export function planChanges(
  operation: Operation,
  current: unknown,
  desired: unknown,
  scope?: BackendScope,
): PlannedChange[] {
  const now = current === null ? {} : comparableState(current);
  if (scope !== undefined) alignMemberIds(now, desired, scope);
  let changes: Array<{ path: string; from: unknown; to: unknown }>;
  switch (operation) {
    case 'createOrUpdate':
      changes = [...diffChanges(now, desired), ...removals(now, desired, '')];
      break;
    case 'update':
      changes = diffChanges(now, desired);
      break;
    case 'delete':
      changes = current === null ? [] : [{ path: '', from: now, to: undefined }];
      break;
    case 'reconnect':
      changes = [];
      break;
  }
  return changes.map((change) => redactPlannedChange(change));
}

/** A planned change with its values redacted by the key path they sit at (`change.path`). */
export function redactPlannedChange(change: PlannedChange): PlannedChange {
  const base = splitPath(change.path);
  const out: PlannedChange = { path: change.path };
  if (change.from !== undefined) out.from = redactSecrets(change.from, base);
  if (change.to !== undefined) out.to = redactSecrets(change.to, base);
  return out;
}

/** Keys of `current` that `desired` drops, added to `out` (not spread into it: push(...a) throws past ~100k items). */
function removals(
  current: unknown,
  desired: unknown,
  prefix: string,
  out: Array<{ path: string; from: unknown; to: unknown }> = [],
): Array<{ path: string; from: unknown; to: unknown }> {
  if (!isRecord(current)) return out;
  const want = isRecord(desired) ? desired : {};
  for (const [key, value] of Object.entries(current)) {
    // Quoted like diffChanges' paths: redaction re-reads the path, and `header.123` would lose its key.
    const path = childPath(prefix, key);
    if (!Object.hasOwn(want, key)) out.push({ path, from: value, to: undefined });
    else if (isRecord(value) && isRecord(want[key])) removals(value, want[key], path, out);
  }
  return out;
}

/** A dry-run plan: the current state (redacted) and the changes. */
export function buildPlan(operation: Operation, current: unknown, desired: unknown, scope?: BackendScope): Plan {
  return {
    current: current === null ? null : redactSecrets(current),
    changes: planChanges(operation, current, desired, scope),
  };
}
