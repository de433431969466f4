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
import { OUTSIDE, secretStep } from './redact';
import {
  canonicalKeys,
  withWriter,
  writeAscii,
  writeByte,
  writeBytes,
  writeCanonical,
  writeString,
} from './canonical-bytes';
import { backendResourceId, parseResourceId, type BackendTarget } from './backend-id';
import { isRecord } from './is-record';
import { comparableAsIs } from './plan';

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
  /**
   * What `of(comparableState(body))` gives (a createOrUpdate's state hash, write-intent.ts), taken from the walk
   * that fingerprinted the request holding `body`: undefined when no such walk saw it (or its body is not
   * comparable as it is, see plan.ts), or when it was taken already: it is kept only until taken (a WeakMap whose
   * entries pile up until their bodies are collected cost more garbage collection than the walk saves). The body
   * must not have changed since (the engine never changes a request).
   */
  ofBody(body: object): RequestFingerprint | undefined;
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
 * over bytes written into the reused buffer (no Hmac object, no joined message string per call).
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
  return withWriter((writer) => {
    writeBytes(writer, key.inner);
    writeAscii(writer, visible);
    writeByte(writer, 0x0a);
    // JSON.stringify(secrets), written as it is made.
    writeByte(writer, 0x5b);
    for (let i = 0; i < secrets.length; i++) {
      if (i > 0) writeByte(writer, 0x2c);
      writeString(writer, secrets[i]!);
    }
    writeByte(writer, 0x5d);
    // The outer block is the key's own buffer: this runs to completion before any other caller can use it.
    // The inner digest as a latin1 string (one char per byte) written into place: a Buffer result is allocated
    // outside the heap and cost twice as much (~0.6 µs more per HMAC).
    key.outer.write(sha256Latin1(writer.buf.subarray(0, writer.at)), BLOCK, 'latin1');
    return sha256Hex(key.outer);
  });
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
  // The visible part and secrets of each fingerprinted request's body, for its state hash (see `ofBody`).
  const bodies = new WeakMap<object, VisiblePart>();
  const fingerprint = (visible: string, secrets: readonly string[]): RequestFingerprint => {
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
  };
  return {
    legacy: current === undefined,
    of(request: unknown): RequestFingerprint {
      const { visible, secrets, body } = visiblePart(request);
      if (body !== undefined) bodies.set(body.value, body);
      return fingerprint(visible, secrets);
    },
    ofBody(body: object): RequestFingerprint | undefined {
      const part = bodies.get(body);
      if (part === undefined) return undefined;
      bodies.delete(body);
      return fingerprint(part.visible, part.secrets);
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

/** The visible part of a fingerprint (SHA-256 of the redacted canonical JSON) and the secret values it covers. */
interface VisiblePart {
  visible: string;
  secrets: string[];
}

/**
 * The visible part and the secret values, in one walk that writes the canonical JSON's bytes (collecting the
 * secrets on the way): see canonical-bytes.ts. A request's `body` that is comparable as it is (plan.ts) is, in those
 * bytes, exactly the canonical JSON its state hash is made of, and its secrets are a run of the request's: its own
 * visible part is then hashed from them (`body`), with no copy of the body and no second walk.
 */
function visiblePart(request: unknown): VisiblePart & { body?: VisiblePart & { value: object } } {
  const secrets: string[] = [];
  let body: (VisiblePart & { value: object }) | undefined;
  const visible = withWriter((writer) => {
    if (isRecord(request)) {
      // Only a createOrUpdate's state hash is its body's (an update's is merged into the current state).
      const withBody = request['operation'] === 'createOrUpdate';
      writeByte(writer, 0x7b);
      let first = true;
      for (const key of canonicalKeys(request)) {
        if (IGNORED_FIELDS.has(key)) continue;
        const value = key === 'target' ? normaliseTarget(request[key]) : request[key];
        const mark = writer.at;
        if (!first) writeByte(writer, 0x2c);
        writeString(writer, key);
        writeByte(writer, 0x3a);
        const start = writer.at;
        const from = secrets.length;
        if (writeCanonical(writer, value, secretStep(OUTSIDE, key), secrets)) first = false;
        else writer.at = mark;
        if (withBody && key === 'body' && isStateAsIs(value)) {
          const own = sha256Hex(writer.buf.subarray(start, writer.at));
          body = { value, visible: own, secrets: secrets.slice(from) };
        }
      }
      writeByte(writer, 0x7d);
    } else if (!writeCanonical(writer, request, OUTSIDE, secrets)) writeAscii(writer, 'null');
    return sha256Hex(writer.buf.subarray(0, writer.at));
  });
  return body === undefined ? { visible, secrets } : { visible, secrets, body };
}

/**
 * True when the canonical bytes `writeCanonical` writes for `value` (under `body`, where no secret path starts) are
 * those `visiblePart(comparableState(value))` hashes: nothing for comparableState to drop, and no top-level key the
 * request's own walk treats apart (`requestId`, `dryRun`, `target`).
 */
function isStateAsIs(value: unknown): value is object {
  if (!isRecord(value) || !comparableAsIs(value)) return false;
  return !Object.hasOwn(value, 'target') && !Object.hasOwn(value, 'requestId') && !Object.hasOwn(value, 'dryRun');
}

/** One-shot SHA-256 (`crypto.hash`, Node ≥ 20.12) where it exists: no Hash object per call. */
const oneShotHash = (
  crypto as {
    hash?: (algorithm: string, data: Uint8Array, encoding: 'hex' | 'binary') => string;
  }
).hash;

function sha256Hex(data: Uint8Array): string {
  return oneShotHash === undefined
    ? createHash('sha256').update(data).digest('hex')
    : oneShotHash('sha256', data, 'hex');
}

function sha256Latin1(data: Uint8Array): string {
  return oneShotHash === undefined
    ? createHash('sha256').update(data).digest('binary')
    : oneShotHash('sha256', data, 'binary');
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
