/**
 * The fingerprint of a change request: what decides whether a second request with the same requestId is a
 * duplicate (same fingerprint: answer with the recorded outcome) or a different request reusing the id (conflict).
 *
 * A fingerprint is `<visible>` for a request without secrets, where `<visible>` is the SHA-256 (hex) of the canonical
 * JSON of the request with its secrets redacted (keys sorted recursively, `requestId` and `dryRun` left out, `target`
 * replaced by the backend's lower-cased ARM id whether it was given as an object or as an id string). A request with
 * secrets also covers them, so that a request differing only in a credential is a conflict rather than a silent
 * duplicate — but never by a plain hash, since the fingerprint is stored beside the (redacted) outcome and a plain
 * hash of a weak password could be guessed offline from that row:
 * - `<visible>.k-<keyId>.<hex HMAC-SHA256>` with a key from settings (LEDGER_FINGERPRINT_KEY), which is never stored:
 *   the record alone does not let anyone test guesses. `<keyId>` (a hash of the key) says which key made it, so a
 *   fingerprint made under a previous key (LEDGER_FINGERPRINT_PREVIOUS_KEYS) is still recognised after a rotation.
 * - `<visible>.<hex scrypt>` (the legacy scheme, no key set): about 13 ms of CPU per request, which is what made
 *   guessing expensive. Still recognised after a key is set, so requests recorded before an upgrade stay duplicates.
 *
 * A fingerprint must never be shown to callers.
 */
import * as crypto from 'node:crypto';
import { createHash, scryptSync, timingSafeEqual } from 'node:crypto';
import { OUTSIDE, REDACTED, SECRET, secretStep, type SecretState } from './redact';
import { backendResourceId, parseResourceId, type BackendTarget } from './backend-id';
import { isRecord } from './is-record';

/** The fingerprint of one request, computed once, and how to tell whether a stored one is the same request. */
export interface RequestFingerprint {
  /** What is stored in a new record. */
  readonly value: string;
  /**
   * Whether a stored fingerprint is this request's: equal, or made under a previous key or by the legacy scheme
   * and matching once recomputed that way (only then is anything recomputed).
   */
  readonly matches: (stored: string) => boolean;
}

/** Makes the fingerprints of requests under the configured keys. */
export interface Fingerprinter {
  of(request: unknown): RequestFingerprint;
  /** True when no key is set: requests with secrets pay the slow legacy hash (worth one warning). */
  readonly legacy: boolean;
}

/** The keys (secrets from settings): `current` makes new fingerprints, `previous` are still recognised. */
export interface FingerprintKeys {
  current?: string | undefined;
  previous?: readonly string[] | undefined;
}

/** Fields that do not change what the request does to the backend. */
const IGNORED_FIELDS: ReadonlySet<string> = new Set(['requestId', 'dryRun']);
/** scrypt cost of the legacy scheme (about 13 ms per request with credentials). */
const LEGACY_COST = { N: 8192, r: 8, p: 1 } as const;
const KEYED = /^([0-9a-f]{64})\.k-([0-9a-f]{8})\.([0-9a-f]{64})$/;
const LEGACY = /^([0-9a-f]{64})\.([0-9a-f]{64})$/;

/**
 * An HMAC-SHA256 key, ready for {@link hmacHex}: HMAC is SHA-256 of the key's outer pad and the SHA-256 of its inner
 * pad and the message (RFC 2104), so the two 64-byte pads are made once per key, and each HMAC is two one-shot hashes
 * with no Hmac object (whose construction, per call, cost more than the hashing).
 */
interface Key {
  id: string;
  /** The key XOR 0x36 (inner pad), one SHA-256 block. */
  inner: Buffer;
  /** The key XOR 0x5c (outer pad), with room for the inner digest after it. */
  outer: Buffer;
}

const BLOCK = 64;

function keyOf(secret: string): Key {
  const id = createHash('sha256').update(`apim-backend-changes/fingerprint-key-id\n${secret}`).digest('hex');
  let bytes = Buffer.from(secret, 'utf8');
  // A key longer than the block is replaced by its hash, as HMAC specifies.
  if (bytes.length > BLOCK) bytes = createHash('sha256').update(bytes).digest();
  const inner = Buffer.alloc(BLOCK, 0x36);
  const outer = Buffer.alloc(BLOCK + 32, 0x5c);
  for (let i = 0; i < bytes.length; i++) {
    inner[i] = bytes[i]! ^ 0x36;
    outer[i] = bytes[i]! ^ 0x5c;
  }
  return { id: id.slice(0, 8), inner, outer };
}

/** HMAC-SHA256 (hex) of `visible`, a newline and the JSON of `secrets`: the keyed part of a fingerprint. */
function hmacHex(key: Key, visible: string, secrets: readonly string[]): string {
  const message = `${visible}\n${JSON.stringify(secrets)}`;
  const length = Buffer.byteLength(message, 'utf8');
  const inner = Buffer.allocUnsafe(BLOCK + length);
  key.inner.copy(inner, 0);
  inner.write(message, BLOCK, 'utf8');
  // The outer block is the key's own buffer: this runs to completion before any other caller can use it.
  sha256(inner).copy(key.outer, BLOCK);
  return sha256Hex(key.outer);
}

function legacyHex(visible: string, secrets: readonly string[]): string {
  // The salt is the visible part: the same request always gets the same fingerprint, different requests differ.
  return scryptSync(JSON.stringify(secrets), `apim-backend-changes:${visible}`, 32, LEGACY_COST).toString('hex');
}

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/**
 * The fingerprinter for `keys`. Create it once per process (the keys are parsed once). Without a current key it
 * makes legacy (scrypt) fingerprints, so an upgrade without the new setting changes nothing.
 */
export function createFingerprinter(keys: FingerprintKeys = {}): Fingerprinter {
  const current = keys.current === undefined || keys.current === '' ? undefined : keyOf(keys.current);
  const known = new Map<string, Key>();
  for (const secret of [...(keys.previous ?? []), ...(current === undefined ? [] : [keys.current!])]) {
    if (secret !== '') {
      const key = keyOf(secret);
      known.set(key.id, key);
    }
  }
  return {
    legacy: current === undefined,
    of(request: unknown): RequestFingerprint {
      const { visible, secrets } = visiblePart(request);
      if (secrets.length === 0) return { value: visible, matches: (stored) => stored === visible };
      const value =
        current === undefined
          ? `${visible}.${legacyHex(visible, secrets)}`
          : `${visible}.k-${current.id}.${hmacHex(current, visible, secrets)}`;
      return {
        value,
        matches: (stored: string): boolean => {
          if (stored === value) return true;
          if (!stored.startsWith(visible)) return false;
          const keyed = KEYED.exec(stored);
          if (keyed !== null) {
            const key = known.get(keyed[2]!);
            return key !== undefined && sameHex(keyed[3]!, hmacHex(key, visible, secrets));
          }
          const legacy = LEGACY.exec(stored);
          // Recorded before a key was set (an upgrade): recompute the slow way, once, for this rare case.
          return legacy !== null && current !== undefined && sameHex(legacy[2]!, legacyHex(visible, secrets));
        },
      };
    },
  };
}

const LEGACY_FINGERPRINTER = createFingerprinter();

/** The fingerprinter without a key (legacy scheme): what a process with no LEDGER_FINGERPRINT_KEY uses. */
export function legacyFingerprinter(): Fingerprinter {
  return LEGACY_FINGERPRINTER;
}

/** The legacy (keyless) fingerprint of a request, as stored by a process without LEDGER_FINGERPRINT_KEY. */
export function fingerprintRequest(request: unknown): string {
  return LEGACY_FINGERPRINTER.of(request).value;
}

/**
 * The visible part (SHA-256 of the redacted canonical JSON) and the secret values, in one walk that writes the
 * canonical JSON directly (collecting the secrets on the way): no copy of the request is built. The text is exactly
 * what `JSON.stringify` made of the key-sorted, redacted copy the stored fingerprints were computed from
 * (test/unit/fingerprint-pinned.test.ts, test/property/fingerprint.property.test.ts).
 */
function visiblePart(request: unknown): { visible: string; secrets: string[] } {
  const secrets: string[] = [];
  let json: string;
  if (isRecord(request)) {
    json = '{';
    for (const key of canonicalKeys(request)) {
      if (IGNORED_FIELDS.has(key)) continue;
      const value = key === 'target' ? normaliseTarget(request[key]) : request[key];
      const text = canonicalText(value, secretStep(OUTSIDE, key), secrets);
      if (text !== undefined) json += `${json.length === 1 ? '' : ','}${quote(key)}:${text}`;
    }
    json += '}';
  } else {
    json = canonicalText(request, OUTSIDE, secrets) ?? 'null';
  }
  return { visible: sha256Hex(json), secrets };
}

/** One-shot SHA-256 (`crypto.hash`, Node ≥ 20.12) where it exists: no Hash object per call. */
const oneShotHash = (
  crypto as { hash?: (algorithm: string, data: string | Buffer, encoding: 'hex' | 'buffer') => string | Buffer }
).hash;

function sha256Hex(data: string | Buffer): string {
  return oneShotHash === undefined
    ? createHash('sha256').update(data).digest('hex')
    : (oneShotHash('sha256', data, 'hex') as string);
}

function sha256(data: Buffer): Buffer {
  return oneShotHash === undefined
    ? createHash('sha256').update(data).digest()
    : (oneShotHash('sha256', data, 'buffer') as Buffer);
}

const REDACTED_JSON = JSON.stringify(REDACTED);

/**
 * The canonical JSON of `value` (at a path in `state`): what `JSON.stringify` writes for a copy holding only plain objects (own
 * enumerable keys, in canonical order), arrays and primitives, with secrets replaced by REDACTED (their values
 * pushed to `secrets`). Undefined where `JSON.stringify` drops the value (undefined, a function, a symbol); `null`
 * for those inside an array. No `toJSON` is called: the copy never had one that could be called.
 */
function canonicalText(value: unknown, state: SecretState, secrets: string[]): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'object') {
    if (Array.isArray(value)) {
      if (value.length === 0) return '[]';
      let out = '[';
      for (let i = 0; i < value.length; i++) {
        out += `${i === 0 ? '' : ','}${canonicalText(value[i], state, secrets) ?? 'null'}`;
      }
      return `${out}]`;
    }
    const record = value as Record<string, unknown>;
    let out = '{';
    for (const key of canonicalKeys(record)) {
      const text = canonicalText(record[key], secretStep(state, key), secrets);
      if (text !== undefined) out += `${out.length === 1 ? '' : ','}${quote(key)}:${text}`;
    }
    return `${out}}`;
  }
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (state === SECRET) {
    if (typeof value === 'string' && value.length > 0) secrets.push(value);
    return REDACTED_JSON;
  }
  if (typeof value === 'string') return quote(value);
  // Numbers (NaN and ±Infinity as null, -0 as 0), booleans; a BigInt throws, as it always did.
  return JSON.stringify(value);
}

/** What JSON escapes: control characters, `"`, `\\` and surrogates (a lone one is written as `\\uXXXX`). */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** `JSON.stringify(text)`: the same text, without the call for the usual string that has nothing to escape. */
function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/**
 * The keys in the order the key-sorted copy listed them: sorted by UTF-16 code units, except that integer keys
 * come first in numeric order (JavaScript objects enumerate them so, and the stored fingerprints were made that way).
 * `Object.keys` of an ordinary object already lists integer keys first and in order, so only the rest is sorted.
 */
function canonicalKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  if (keys.length < 2) return keys;
  let split = 0;
  while (split < keys.length && isArrayIndex(keys[split]!)) split++;
  for (let i = split; i < keys.length; i++) if (isArrayIndex(keys[i]!)) return exoticOrder(keys);
  for (let i = 1; i < split; i++) if (Number(keys[i - 1]) > Number(keys[i])) return exoticOrder(keys);
  if (keys.length - split > SMALL) {
    return split === 0 ? keys.sort() : [...keys.slice(0, split), ...keys.slice(split).sort()];
  }
  // Insertion sort of the names after the integer keys: for the few keys of a request's objects, several times
  // faster than Array.prototype.sort. `>` on strings compares UTF-16 code units, as the default sort does.
  for (let i = split + 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= split && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

/** Up to this many names are sorted by insertion. */
const SMALL = 16;

/** The canonical order for an object whose keys are not listed as an ordinary object's are (a Proxy). */
function exoticOrder(keys: string[]): string[] {
  const indices = keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
  return [...indices, ...keys.filter((key) => !isArrayIndex(key)).sort()];
}

function isArrayIndex(key: string): boolean {
  // Most keys are names: the first character decides without the regular expression.
  const first = key.charCodeAt(0);
  return first >= 0x30 && first <= 0x39 && ARRAY_INDEX.test(key) && Number(key) < 4294967295;
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
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
  return out;
}
