/**
 * The fingerprint of a change request: what decides whether a second request with the same requestId is a
 * duplicate (same fingerprint: answer with the recorded outcome) or a different request reusing the id (conflict).
 */
import { createHash } from 'node:crypto';
import { backendResourceId, parseResourceId, type BackendTarget } from '../arm/resource-id';

/** Fields that do not change what the request does to the backend. */
const IGNORED_FIELDS: ReadonlySet<string> = new Set(['requestId', 'dryRun']);

/**
 * The SHA-256 (hex) of the canonical JSON of a change request: keys sorted recursively, `requestId` and `dryRun`
 * left out, and `target` replaced by the backend's lower-cased ARM id whether it was given as an object or as an id
 * string (ARM ids compare case-insensitively). Fingerprint the parsed `ChangeRequest` (its bodies are normalised);
 * raw input works too, for requests that failed validation.
 *
 * The hash covers secrets in the body, so that a request that differs only in a credential is a conflict rather
 * than a silent duplicate. It is stored, so it must never be shown to callers.
 */
export function fingerprintRequest(request: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(normaliseRequest(request)))
    .digest('hex');
}

function normaliseRequest(request: unknown): unknown {
  if (!isRecord(request)) return request;
  const out = plainObject();
  for (const [key, value] of Object.entries(request)) {
    if (IGNORED_FIELDS.has(key)) continue;
    out[key] = key === 'target' ? normaliseTarget(value) : value;
  }
  return out;
}

/** The lower-cased ARM id of a target object or id string; anything unrecognisable is kept as it is. */
function normaliseTarget(target: unknown): unknown {
  if (typeof target === 'string') {
    const parsed = parseResourceId(target);
    return parsed?.kind === 'backend' ? backendResourceId(parsed.target).toLowerCase() : target.trim().toLowerCase();
  }
  if (isTargetObject(target)) return backendResourceId(target).toLowerCase();
  return target;
}

function isTargetObject(value: unknown): value is BackendTarget {
  if (!isRecord(value)) return false;
  const required = ['subscriptionId', 'resourceGroupName', 'serviceName', 'backendId'] as const;
  return (
    required.every((key) => typeof value[key] === 'string') &&
    (value.workspaceId === undefined || typeof value.workspaceId === 'string')
  );
}

/**
 * JSON with object keys sorted (by UTF-16 code units, so the order does not depend on the locale) at every depth.
 * Values are encoded as `JSON.stringify` encodes them, including dropping undefined properties.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isRecord(value)) return value;
  const out = plainObject();
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
  return out;
}

/** An object without a prototype, so a `__proto__` key from parsed JSON is kept as data, not set as a prototype. */
function plainObject(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
