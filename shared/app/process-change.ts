import { backendResourceId } from '../domain/backend-id';
import { parseChangeRequest, type ChangeRequest } from '../domain/contract/change-request';
import type { ErrorBody } from '../domain/contract/error-response';
import { isTransientFailure, type Outcome } from '../domain/contract/outcome';
import { legacyFingerprinter, type RequestFingerprint } from '../domain/fingerprint';
import type { ChangeLedger, ClaimInput, LedgerOrigin, LedgerRecord } from './ledger-ports';
import { executeChange, type EngineDeps } from './apply-change';
import { exceedsDepth, shallowIdentity, tooDeepError } from '../domain/contract/json-depth';
import { rejectedOutcome, requestIdOf } from '../domain/rejection';
import { isReservedRequestId, isTimerRequest, reservedRequestIdError } from '../domain/reserved-ids';
import { sanitizeOutcome } from '../domain/sanitize-outcome';
import type { IntentPort } from './write-intent';
import type { ResultPublisher } from './publisher-ports';
import { LedgerConflictError, TERMINAL_STATES } from '../domain/ledger-state';

/** The engine's dependencies plus the ledger and the publisher. Without a ledger, nothing is deduplicated. */
export interface ProcessDeps extends EngineDeps {
  ledger: ChangeLedger | undefined;
  publisher: ResultPublisher;
  /** How long a claim holds: longer than the change deadline, so a live delivery is never overtaken. */
  leaseMs: number;
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
      sanitizeOutcome(await executeChange(request, intent === undefined ? deps : { ...deps, intent }), raw),
      delivery,
    );
  if (request.dryRun) {
    // Dry runs write nothing, so there is nothing to deduplicate; a recorded dry run would shadow the real request.
    const outcome = await execute();
    await publish(outcome, delivery, deps);
    return { kind: 'outcome', outcome, duplicate: false };
  }
  return settle(
    mark(
      {
        requestId: request.requestId!,
        operation: request.operation,
        target: backendResourceId(request.target),
        status: 'rejected',
        attempts: 0,
        durationMs: 0,
      },
      delivery,
    ),
    () => delivery.fingerprint ?? fingerprintOf(deps, request),
    delivery,
    deps,
    execute,
    request,
  );
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

/** Whether a transient outcome is handed back to the caller (HTTP → queue) instead of being answered. */
function handedOff(outcome: Outcome, delivery: Delivery): boolean {
  return delivery.onTransient === 'answer' && delivery.handOff !== undefined && delivery.handOff(outcome);
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

/**
 * Settles one delivery through the ledger. `fingerprintOf` is called only when there is a ledger: without one,
 * nothing is deduplicated and the fingerprint would be wasted work.
 */
async function settle(
  identity: Outcome,
  fingerprintOfRequest: () => RequestFingerprint,
  delivery: Delivery,
  deps: ProcessDeps,
  run: (intent?: IntentPort) => Promise<Outcome>,
  request?: ChangeRequest,
  reclaimed = false,
): Promise<Processed> {
  const { ledger } = deps;
  if (ledger === undefined) {
    const outcome = await run();
    if (isTransientFailure(outcome) && (delivery.onTransient === 'redeliver' || handedOff(outcome, delivery)))
      return { kind: 'redeliver', outcome };
    await publish(outcome, delivery, deps);
    return { kind: 'outcome', outcome, duplicate: false };
  }

  const now = (): Date => new Date(deps.clock.now());
  const fingerprint = fingerprintOfRequest();
  const claimInput: ClaimInput = {
    requestId: identity.requestId,
    fingerprint: fingerprint.value,
    sameRequest: fingerprint.matches,
    leaseMs: deps.leaseMs,
    now: now(),
    origin: delivery.origin ?? 'queue',
  };
  if (identity.operation !== undefined) claimInput.operation = identity.operation;
  if (identity.target !== undefined) claimInput.target = identity.target;
  const claim = await ledger.claim(claimInput);

  switch (claim.kind) {
    case 'busy': {
      // Another delivery is applying it now (a duplicate delivered concurrently). Wait for its outcome rather than
      // bouncing straight back to the broker, which would redeliver at once and burn this copy's deliveries.
      const decided = await waitForDecision(ledger, identity.requestId, claim.record, deps);
      if (decided === 'claimable' && !reclaimed) {
        // The holder released it or its lease ran out (it crashed): claim it for this delivery.
        return settle(identity, () => fingerprint, delivery, deps, run, request, true);
      }
      if (decided === 'claimable' || decided?.outcome === undefined)
        return { kind: 'busy', requestId: identity.requestId };
      deps.logger.info('Duplicate delivery answered from the ledger after the first one finished', {
        requestId: identity.requestId,
      });
      // The delivery that applied it publishes its event (and repairs a failed publish on its own redelivery).
      return { kind: 'outcome', outcome: decided.outcome, duplicate: true };
    }
    case 'conflict': {
      const outcome = rejectedOutcome(
        request ?? { requestId: identity.requestId },
        {
          code: 'RequestIdConflict',
          message: 'This requestId was already used for a different request. Use a new requestId for a new change.',
          target: 'requestId',
        },
        identity.requestId,
      );
      await publish(outcome, delivery, deps);
      return { kind: 'outcome', outcome, duplicate: false };
    }
    case 'done': {
      const outcome = claim.record.outcome ?? identity;
      if (!claim.record.published) await publishAndMark(claim.record, outcome, delivery, deps, now);
      deps.logger.info('Duplicate request answered from the ledger', {
        requestId: identity.requestId,
        status: outcome.status,
      });
      return { kind: 'outcome', outcome, duplicate: true };
    }
    case 'claimed': {
      if (claim.record.deliveries > 1) {
        // Expected after an async accept (registered, then delivered) or a transient failure; after a crash, the
        // skip-unchanged read and conditional writes keep the re-apply from writing twice.
        deps.logger.info('Request claimed again', {
          requestId: identity.requestId,
          deliveries: claim.record.deliveries,
        });
      }
      let held = claim.record;
      const intent: IntentPort = {
        recorded: held.intent,
        record: async (next) => {
          held = await ledger.recordIntent(held, next, now());
        },
      };
      let outcome: Outcome;
      try {
        outcome = await run(intent);
      } catch (error) {
        // Our lease ran out before the first write and another delivery took over: nothing was written here.
        if (error instanceof LedgerConflictError) return { kind: 'busy', requestId: identity.requestId };
        throw error;
      }
      // A reconnect failing transiently was known not to be sent (an unknown one ends as OutcomeUnknown): the next
      // delivery may send it.
      const clearIntent = identity.operation === 'reconnect';
      const transient = isTransientFailure(outcome) && delivery.onTransient !== 'final';
      // HTTP hands a change still transient at the end of its budget to the queue: released, like a redelivery.
      if (transient && (delivery.onTransient === 'redeliver' || handedOff(outcome, delivery))) {
        await ledger.release(held, outcome.attempts, now(), { clearIntent });
        return { kind: 'redeliver', outcome };
      }
      let record: LedgerRecord;
      try {
        // HTTP's transient failure is the caller's answer: recorded (GET shows it) and published, yet a retry of
        // the same requestId may claim it again.
        const extra: { etagBefore?: string; now: Date; retryable?: boolean; clearIntent?: boolean } = { now: now() };
        if (outcome.etagBefore !== undefined) extra.etagBefore = outcome.etagBefore;
        if (transient) {
          extra.retryable = true;
          extra.clearIntent = clearIntent;
        }
        record = await ledger.complete(held, outcome, extra);
      } catch (error) {
        // Our lease ran out and another delivery took over: it will record and publish; do not publish twice.
        if (error instanceof LedgerConflictError) return { kind: 'busy', requestId: identity.requestId };
        throw error;
      }
      await publishAndMark(record, outcome, delivery, deps, now);
      return { kind: 'outcome', outcome, duplicate: false };
    }
  }
}

async function publishAndMark(
  record: LedgerRecord,
  outcome: Outcome,
  delivery: Delivery,
  deps: ProcessDeps,
  now: () => Date,
): Promise<void> {
  if (await publish(outcome, delivery, deps)) await deps.ledger?.markPublished(record, now());
}

/**
 * Publishes an outcome's event. Returns whether it was published; a failure throws unless the delivery defers it
 * (HTTP: the caller still gets the outcome; a recorded one is published later by the repair sweep).
 */
async function publish(outcome: Outcome, delivery: Delivery, deps: ProcessDeps): Promise<boolean> {
  try {
    await deps.publisher.publish(outcome, { correlationId: delivery.correlationId });
    return true;
  } catch (error) {
    if (delivery.onPublishFailure !== 'defer') throw error;
    deps.logger.error('Publishing the result event failed', {
      requestId: outcome.requestId,
      error: error instanceof Error ? error.message : String(error),
    });
    return false;
  }
}

/** How often a busy record is re-read while another delivery applies it. */
const BUSY_POLL_MS = 200;
/** The longest one delivery waits for another (so a wait plus its own change stays within the function timeout). */
const BUSY_WAIT_MAX_MS = 60_000;

/**
 * Re-reads a record held by another delivery until it is decided (the record), claimable again (`'claimable'`:
 * released, or its lease ran out because the holder crashed), or the wait ends (undefined).
 */
export async function waitForDecision(
  ledger: ChangeLedger,
  requestId: string,
  held: LedgerRecord,
  deps: ProcessDeps,
): Promise<LedgerRecord | 'claimable' | undefined> {
  const leaseEnd = held.leaseUntil === undefined ? Number.POSITIVE_INFINITY : Date.parse(held.leaseUntil);
  const until = deps.clock.now() + Math.min(deps.settings.deadlineMs, BUSY_WAIT_MAX_MS);
  for (;;) {
    if (deps.clock.now() >= leaseEnd) return 'claimable';
    if (deps.clock.now() + BUSY_POLL_MS > until) return undefined;
    try {
      await deps.clock.sleep(BUSY_POLL_MS);
    } catch {
      return undefined; // aborted: the function is stopping
    }
    const record = await ledger.get(requestId);
    if (record === undefined || record.state === 'received') return 'claimable';
    if (TERMINAL_STATES.has(record.state)) return record;
  }
}
