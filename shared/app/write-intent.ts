/**
 * The write intent: what a delivery records in the ledger before its first write, so that a later delivery of the
 * same request (after a crash, a lost lease or a transient failure) never rolls the backend back.
 *
 * A crash between a write and its recorded outcome leaves ARM changed and the ledger `applying`. Re-applying with a
 * fresh ETag would then overwrite whatever was written after the crash with this older request's value. Instead, the
 * intent records the ETag the first write is conditional on (`null`: the backend did not exist) and a hash of the
 * state the backend has once the change is applied. A later delivery writes only while the backend still carries
 * that ETag; once it does not, the change either landed already (the current state is the desired one: `succeeded`)
 * or someone wrote after it (`failed`, `Superseded`: nothing is overwritten).
 */
import type { ChangeRequest } from '../domain/contract/change-request';
import type { ErrorBody } from '../domain/contract/error-response';
import { legacyFingerprinter, type Fingerprinter } from '../domain/fingerprint';
import type { WriteIntent } from './ledger-ports';
import { isRecord } from '../domain/is-record';
import { comparableState, planChanges } from '../domain/plan';

/** How the engine reads and records the intent of one delivery (backed by the ledger record it holds). */
export interface IntentPort {
  /** The intent an earlier delivery of this request recorded, if any: this delivery's writes are pinned to it. */
  readonly recorded: WriteIntent | undefined;
  /** Records the intent before the first write. Throws when the record was lost: then nothing may be written. */
  record(intent: WriteIntent): Promise<void>;
}

/** The state hash of an intent whose effect cannot be observed (a reconnect). */
export const UNOBSERVABLE = 'unobservable';
/** The state hash of "the backend does not exist". */
const ABSENT = 'absent';

/**
 * The hash of a backend state as ARM returns it (`null`: no such backend): over its comparable view (no ids, nulls
 * or server-computed fields), with secrets covered the way the ledger's fingerprints cover them (keyed HMAC with
 * LEDGER_FINGERPRINT_KEY; the slow legacy hash only without a key), never a plain hash.
 */
export function stateHash(state: unknown, fingerprints: Fingerprinter = legacyFingerprinter()): string {
  return state === null ? ABSENT : fingerprints.of(comparableState(state)).value;
}

/**
 * True when `state` (`null`: absent) is the state a recorded hash stands for — also when the hash was made under a
 * previous fingerprint key or by the legacy scheme.
 */
export function stateMatches(
  state: unknown,
  recorded: string,
  fingerprints: Fingerprinter = legacyFingerprinter(),
): boolean {
  if (state === null) return recorded === ABSENT;
  return recorded !== ABSENT && fingerprints.of(comparableState(state)).matches(recorded);
}

/**
 * The hash of the state the backend has once `request` is applied to `current` (`null`: absent): PUT replaces the
 * properties, PATCH merges into them (RFC 7396, as ARM applies it), delete removes the backend.
 */
export function expectedStateHash(
  request: ChangeRequest,
  current: unknown,
  fingerprints: Fingerprinter = legacyFingerprinter(),
): string {
  switch (request.operation) {
    case 'createOrUpdate': {
      // Usually taken from the walk that fingerprinted the request (the ledger claimed it just before).
      const body = request.body ?? {};
      return fingerprints.ofBody(body)?.value ?? stateHash(body, fingerprints);
    }
    case 'update':
      return stateHash(mergePatch(current === null ? {} : comparableState(current), request.body ?? {}), fingerprints);
    case 'delete':
      return ABSENT;
    case 'reconnect':
      return UNOBSERVABLE;
  }
}

/** True when `current` (null: absent) still carries the intent's ETag: nothing was written since it was recorded. */
export function untouchedSince(intent: WriteIntent, current: { etag: string | undefined } | null): boolean {
  if (intent.etag === null) return current === null;
  return current !== null && current.etag === intent.etag;
}

/** True when `current` (null: absent) already is what `request` asks for. */
export function isDesired(request: ChangeRequest, current: unknown): boolean {
  switch (request.operation) {
    case 'delete':
      return current === null;
    case 'createOrUpdate':
    case 'update':
      return current !== null && planChanges(request.operation, current, request.body ?? {}).length === 0;
    case 'reconnect':
      return false;
  }
}

export const SUPERSEDED: ErrorBody = {
  code: 'Superseded',
  message:
    'The backend was changed after an earlier delivery of this request began writing, and it does not hold this ' +
    'request now: nothing was written, so the later change stands. Send a new request to apply this one again.',
};

export const RECONNECT_UNKNOWN: ErrorBody = {
  code: 'OutcomeUnknown',
  message:
    'An earlier delivery of this reconnect may have sent it, and a reconnect leaves nothing to check: it is not sent ' +
    'again. Send a new request if another reconnect is wanted.',
};

/** JSON merge patch (RFC 7396): objects merge, `null` removes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}
