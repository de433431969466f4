import { backendResourceId } from '../domain/backend-id';
import { parseChangeRequest, type ChangeRequest } from '../domain/contract/change-request';
import type { ErrorBody } from '../domain/contract/error-response';
import type { Outcome } from '../domain/contract/outcome';
import { legacyFingerprinter, type RequestFingerprint } from '../domain/fingerprint';
import type { ChangeLedger, LedgerOrigin } from './ledger-ports';
import { applyChange, type EngineDeps } from './apply-change';
import { exceedsDepth, shallowIdentity, tooDeepError } from '../domain/contract/json-depth';
import { rejectedOutcome, requestIdOf } from '../domain/rejection';
import { isReservedRequestId, isTimerRequest, reservedRequestIdError } from '../domain/reserved-ids';
import { sanitizeOutcome } from '../domain/sanitize-outcome';
import type { IntentPort } from './write-intent';
import type { ResultPublisher } from './publisher-ports';
import type { ArmBackendClient } from './arm-ports';
import type { Telemetry } from './telemetry-ports';
import { publish, settle, type LedgerIdentity } from './settle-change';

/** The engine's dependencies plus the ledger and the publisher. Without a ledger, nothing is deduplicated. */
export interface ProcessDeps extends EngineDeps {
  ledger: ChangeLedger | undefined;
  publisher: ResultPublisher;
  /** How long a claim holds: longer than the change deadline, so a live delivery is never overtaken. */
  leaseMs: number;
  /** The ports with their spans bound to `telemetry` (the change's span): see ChangePorts.tracedChange. */
  traced?: (telemetry: Telemetry) => ChangeSpanPorts;
}

/** The ports one change's processing makes spans through. */
export interface ChangeSpanPorts {
  arm: ArmBackendClient;
  ledger: ChangeLedger | undefined;
  publisher: ResultPublisher;
}

/**
 * What to do with a transient failure (ARM throttled or unavailable until the deadline):
 * - `answer`: HTTP — release the record (the caller may retry the same requestId), publish and return the outcome;
 * - `redeliver`: a queue delivery with deliveries left — release the record, publish nothing, ask for redelivery;
 * - `final`: the last queue delivery — record and publish `failed`.
 */
export type TransientPolicy = 'answer' | 'redeliver' | 'final';

/** One delivery of a request: where it came from and how to settle it. */
export interface Delivery {
  /** The requestId to use when the input carries none (the queue message id, or a new UUID). */
  fallbackRequestId: string;
  correlationId?: string | undefined;
  /** Where the request came from (decides who finalises its record if the delivery stops). Default `queue`. */
  origin?: LedgerOrigin;
  onTransient: TransientPolicy;
  /**
   * When publishing the result event fails after the outcome was recorded: `throw` (a queue message stays
   * unsettled, so redelivery re-publishes from the record) or `defer` (HTTP: answer the outcome anyway; the record
   * stays unpublished and the repair sweep publishes it).
   */
  onPublishFailure?: 'throw' | 'defer';
  /** The request's fingerprint when the trigger already computed it (respond-async): computed once per request. */
  fingerprint?: RequestFingerprint | undefined;
  /**
   * The timer's requestId namespace (see reserved-ids.ts): `refuse` it (HTTP callers), or accept it only for the
   * timer's own request (`timer`, the queue, with the configured reconnect `after`). Unset: not checked.
   */
  reservedIds?: { policy: 'refuse' } | { policy: 'timer'; after: string | undefined };
  /** HTTP: a transient outcome this returns true for is not answered but handed back (`redeliver`) for the queue. */
  handOff?: (outcome: Outcome) => boolean;
  /** The queue message id the fallback requestId was derived from (kept in the outcome). */
  originalMessageId?: string | undefined;
}

/** The result of processing one delivery. */
export type Processed =
  /** Final for this delivery: recorded (when there is a ledger) and published. `duplicate`: answered from the record. */
  | { kind: 'outcome'; outcome: Outcome; duplicate: boolean }
  /** Transient failure with deliveries left: nothing recorded as final, nothing published; redeliver. */
  | { kind: 'redeliver'; outcome: Outcome }
  /** Another delivery is applying this requestId right now; try again later. */
  | { kind: 'busy'; requestId: string };

/**
 * Validates, deduplicates, executes, records and publishes one change request: the path every trigger takes.
 * `raw` is the parsed JSON input, or `undefined` when the input was not JSON (`notJson` then explains).
 * Throws only what the trigger should retry: storage or publishing failures.
 */
export async function processChange(
  raw: unknown,
  delivery: Delivery,
  deps: ProcessDeps,
  notJson?: ErrorBody,
): Promise<Processed> {
  // Before any other work: validation, fingerprinting and redaction walk the input recursively.
  if (notJson === undefined && exceedsDepth(raw)) {
    raw = shallowIdentity(raw);
    notJson = tooDeepError();
  }
  const parsed =
    notJson === undefined
      ? parseChangeRequest(raw, { defaultApiVersion: deps.settings.apiVersion })
      : ({ ok: false, error: notJson } as const);
  const requestId = (parsed.ok ? parsed.request.requestId : requestIdOf(raw)) ?? delivery.fallbackRequestId;
  const reserved = reservedRefusal(requestId, parsed.ok ? parsed.request : undefined, delivery, deps);
  if (reserved !== undefined) {
    // Never recorded: a record under the timer's id would block the timer's own reconnect.
    const outcome = mark(rejectedOutcome(raw, reserved, requestId), delivery);
    await publish(outcome, delivery, deps);
    return { kind: 'outcome', outcome, duplicate: false };
  }
  if (!parsed.ok) {
    const outcome = mark(rejectedOutcome(raw, parsed.error, delivery.fallbackRequestId), delivery);
    // Recorded under its requestId so a duplicate gets the same answer and "what happened?" has one.
    return settle(
      outcome,
      () => fingerprintOf(deps, { invalid: raw ?? null }),
      delivery,
      deps,
      () => Promise.resolve(outcome),
    );
  }
  const request = withRequestId(parsed.request, delivery.fallbackRequestId);
  const execute = async (intent?: IntentPort): Promise<Outcome> =>
    mark(
      sanitizeOutcome(await applyChange(request, intent === undefined ? deps : engineDeps(deps, intent)), raw),
      delivery,
    );
  if (request.dryRun) {
    // Dry runs write nothing, so there is nothing to deduplicate; a recorded dry run would shadow the real request.
    const outcome = await execute();
    await publish(outcome, delivery, deps);
    return { kind: 'outcome', outcome, duplicate: false };
  }
  // Recorded under its requestId, operation and target; the outcome is what applying it answers.
  const identity: LedgerIdentity = {
    requestId: request.requestId!,
    operation: request.operation,
    target: backendResourceId(request.target),
  };
  return settle(identity, () => delivery.fingerprint ?? fingerprintOf(deps, request), delivery, deps, execute, request);
}

/**
 * The engine's dependencies with this delivery's intent, built field by field: `{ ...deps, intent }` takes Node 20's
 * slow spread-then-add path (~1.8 µs per request on the trigger path).
 */
function engineDeps(deps: ProcessDeps, intent: IntentPort): EngineDeps {
  const out: EngineDeps = { arm: deps.arm, clock: deps.clock, logger: deps.logger, settings: deps.settings, intent };
  if (deps.targetQueue !== undefined) out.targetQueue = deps.targetQueue;
  if (deps.fingerprints !== undefined) out.fingerprints = deps.fingerprints;
  return out;
}

/** The refusal of a requestId in the timer's reserved namespace, if this delivery may not use it. */
function reservedRefusal(
  requestId: string,
  request: ChangeRequest | undefined,
  delivery: Delivery,
  deps: ProcessDeps,
): ErrorBody | undefined {
  const policy = delivery.reservedIds;
  if (policy === undefined || !isReservedRequestId(requestId)) return undefined;
  if (policy.policy === 'timer' && isTimerRequest(requestId, request, policy.after, deps.clock.now())) return undefined;
  return reservedRequestIdError(request?.requestId === undefined ? 'Idempotency-Key' : 'requestId');
}

/** The outcome with the delivery's original message id, when its requestId was derived from it. */
function mark(outcome: Outcome, delivery: Delivery): Outcome {
  return delivery.originalMessageId === undefined ? outcome : { ...outcome, messageId: delivery.originalMessageId };
}

/** The request with its requestId set (the fallback when it has none), copied without a spread. */
export function withRequestId(request: ChangeRequest, fallbackRequestId: string): ChangeRequest {
  if (request.requestId !== undefined) return request;
  const copy = Object.assign({}, request);
  copy.requestId = fallbackRequestId;
  return copy;
}

/** The request's fingerprint, warning once per process when no key is set and the slow legacy hash is used. */
function fingerprintOf(deps: ProcessDeps, request: unknown): RequestFingerprint {
  const fingerprints = deps.fingerprints ?? legacyFingerprinter();
  const fingerprint = fingerprints.of(request);
  if (fingerprints.legacy && fingerprint.value.length > 64 && !legacyWarned) {
    legacyWarned = true;
    deps.logger.warn(
      'LEDGER_FINGERPRINT_KEY is not set: requests carrying secrets are fingerprinted with scrypt (~13 ms of CPU ' +
        'each). Set it (see README, Change ledger fingerprints).',
    );
  }
  return fingerprint;
}
let legacyWarned = false;
