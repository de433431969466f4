/**
 * The fingerprint of a change request: what decides whether a second request with the same requestId is a
 * duplicate (same fingerprint: answer with the recorded outcome) or a different request reusing the id (conflict).
 */
import { createHash, scryptSync } from 'node:crypto';
import { redactSecrets, secretValues } from '../engine/redact';
import { backendResourceId, parseResourceId, type BackendTarget } from '../arm/resource-id';
import { isRecord } from '../is-record';

/** Fields that do not change what the request does to the backend. */
const IGNORED_FIELDS: ReadonlySet<string> = new Set(['requestId', 'dryRun']);

/**
 * The fingerprint of a request: the SHA-256 (hex) of the canonical JSON of the request with its secrets redacted
 * (keys sorted recursively, `requestId` and `dryRun` left out, `target` replaced by the backend's lower-cased ARM id
 * whether it was given as an object or as an id string), followed — when the request carries secrets — by a scrypt
 * hash of those secret values. Fingerprint the parsed `ChangeRequest` (its bodies are normalised); raw input works
 * too, for requests that failed validation.
 *
 * The secrets are covered so that a request differing only in a credential is a conflict rather than a silent
 * duplicate; they are covered by a deliberately slow hash because the fingerprint is stored beside the (redacted)
 * outcome, and a plain hash of a request with a weak password could be guessed offline from that row. It must
 * never be shown to callers.
 */
export function fingerprintRequest(request: unknown): string {
  const canonical = canonicalJson(normaliseRequest(request));
  const sorted = JSON.parse(canonical) as unknown;
  const visible = createHash('sha256')
    .update(canonicalJson(redactSecrets(sorted)))
    .digest('hex');
  const secrets = secretValues(sorted);
  if (secrets.length === 0) return visible;
  // The salt is the visible part: the same request always gets the same fingerprint, different requests differ.
  const hidden = scryptSync(JSON.stringify(secrets), `apim-backend-changes:${visible}`, 32, SECRET_HASH_COST);
  return `${visible}.${hidden.toString('hex')}`;
}

/** scrypt cost: about 10 ms per request with credentials here, which makes offline guessing expensive. */
const SECRET_HASH_COST = { N: 8192, r: 8, p: 1 } as const;

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
