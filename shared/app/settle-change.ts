/**
 * Settling one delivery of a change through the ledger: claim it, then apply it (claimed), answer it from the
 * record (done, or decided while this delivery waited), refuse it (a different request under its requestId), or
 * leave it to the delivery applying it (busy); record the outcome, then publish its event and mark it published.
 */
import { isTransientFailure, type Operation, type Outcome } from '../domain/contract/outcome';
import type { ChangeRequest } from '../domain/contract/change-request';
import type { RequestFingerprint } from '../domain/fingerprint';
import { LedgerConflictError } from '../domain/ledger-state';
import { rejectedOutcome } from '../domain/rejection';
import type { ClaimInput, LedgerRecord } from './ledger-ports';
import type { Delivery, ProcessDeps, Processed } from './process-change';
import { waitForDecision } from './wait-for-decision';
import type { IntentPort } from './write-intent';

/** What the ledger records a request under before it has an outcome: its requestId, and what it changes. */
export interface LedgerIdentity {
  requestId: string;
  operation?: Operation | undefined;
  /** The backend's ARM id. */
  target?: string | undefined;
}

/** Whether a transient outcome is handed back to the caller (HTTP → queue) instead of being answered. */
function handedOff(outcome: Outcome, delivery: Delivery): boolean {
  return delivery.onTransient === 'answer' && delivery.handOff !== undefined && delivery.handOff(outcome);
}

/**
 * Settles one delivery through the ledger. `fingerprintOf` is called only when there is a ledger: without one,
 * nothing is deduplicated and the fingerprint would be wasted work.
 */
export async function settle(
  identity: LedgerIdentity,
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
      const outcome = claim.record.outcome ?? unrecordedOutcome(claim.record, identity, delivery);
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
export async function publish(outcome: Outcome, delivery: Delivery, deps: ProcessDeps): Promise<boolean> {
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

/**
 * The answer for a final record that holds no outcome of a single change (one written under this requestId by a
 * change set or an older version of the app): its recorded state and attempts, and, unless it succeeded, why there
 * is nothing more to tell. Never a made-up refusal.
 */
function unrecordedOutcome(record: LedgerRecord, identity: LedgerIdentity, delivery: Delivery): Outcome {
  const status = record.state === 'succeeded' || record.state === 'rejected' ? record.state : 'failed';
  const outcome: Outcome = { requestId: identity.requestId, status, attempts: record.attempts, durationMs: 0 };
  if (identity.operation !== undefined) outcome.operation = identity.operation;
  if (identity.target !== undefined) outcome.target = identity.target;
  if (record.etagAfter !== undefined) outcome.etag = record.etagAfter;
  if (delivery.originalMessageId !== undefined) outcome.messageId = delivery.originalMessageId;
  if (status !== 'succeeded') {
    outcome.error = {
      code: 'OutcomeNotRecorded',
      message: `This requestId is recorded as ${record.state}, but its outcome was not kept; nothing was applied again.`,
    };
  }
  return outcome;
}
