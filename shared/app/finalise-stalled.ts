/**
 * Finalising records whose delivery stopped for good, so that no record stays non-final:
 * - an HTTP request whose process died mid-change (`applying`, lease run out): nobody will deliver it again, so
 *   `ledgerCleanup` decides it from ARM's current state and the recorded write intent;
 * - a queue message that was dead-lettered: the dead-letter function closes its record as `failed`
 *   (`DeadLettered`).
 * Either way the outcome is recorded and its event published.
 */
import type { ArmBackendClient } from './arm-ports';
import { parseResourceId } from '../domain/backend-id';
import type { Clock } from './clock-ports';
import type { ErrorBody } from '../domain/contract/error-response';
import type { Operation, Outcome } from '../domain/contract/outcome';
import type { Fingerprinter } from '../domain/fingerprint';
import type { ChangeLedger, LedgerRecord } from './ledger-ports';
import type { Logger } from './logger-ports';
import { redactSecrets } from '../domain/redact';
import { stateMatches, SUPERSEDED, UNOBSERVABLE, untouchedSince } from './write-intent';
import type { ResultPublisher } from './publisher-ports';
import { LedgerConflictError } from '../domain/ledger-state';

export interface FinaliseDeps {
  ledger: ChangeLedger;
  arm: ArmBackendClient;
  publisher: ResultPublisher;
  clock: Clock;
  logger: Logger;
  /** Budget of the ARM read per record. */
  readTimeoutMs: number;
  /** The ledger's fingerprints: what the recorded state hashes were made with. */
  fingerprints?: Fingerprinter;
}

/** Time one cleanup run spends finalising at most (the timer function has 5 minutes). */
const SWEEP_BUDGET_MS = 120_000;

const NOT_APPLIED: ErrorBody = {
  code: 'NotApplied',
  message:
    'The delivery applying this change stopped before its write reached ARM; nothing was changed. Send it again ' +
    '(a new requestId) if it is still wanted.',
};

const OUTCOME_UNKNOWN: ErrorBody = {
  code: 'OutcomeUnknown',
  message:
    'The delivery applying this change stopped after it may have sent it, and ARM cannot show whether it was ' +
    'applied. Check the backend before sending it again.',
};

/**
 * Finalises the HTTP-origin records whose lease ran out before `now` (at most `limit`): reads each backend and
 * compares it with the recorded intent. Returns how many were finalised. A record ARM cannot be read for now is
 * left for the next run; a record a delivery claims meanwhile is left to that delivery.
 */
export async function finaliseStalledHttp(deps: FinaliseDeps, now: Date, limit = 100): Promise<number> {
  const stalled = await deps.ledger.stalled('http', now, limit);
  // The timer's run must end well within the function timeout; what is left waits for the next run.
  const until = deps.clock.now() + SWEEP_BUDGET_MS;
  let finalised = 0;
  for (const record of stalled) {
    if (deps.clock.now() + deps.readTimeoutMs > until) break;
    const outcome = await recoveredOutcome(record, deps, now);
    if (outcome === undefined) continue;
    if (await closeAndPublish(record, outcome, deps, now)) finalised += 1;
  }
  return finalised;
}

/**
 * Records `outcome` for a stopped record and publishes it. False when a delivery took the record meanwhile (it
 * settles it). A failed publish leaves the record unpublished: the republish sweep takes it from there.
 */
export async function closeAndPublish(
  record: LedgerRecord,
  outcome: Outcome,
  deps: Pick<FinaliseDeps, 'ledger' | 'publisher' | 'logger'>,
  now: Date,
): Promise<boolean> {
  let closed: LedgerRecord;
  try {
    closed = await deps.ledger.close(record, outcome, now);
  } catch (error) {
    if (error instanceof LedgerConflictError) return false;
    throw error;
  }
  try {
    await deps.publisher.publish(outcome);
  } catch (error) {
    deps.logger.warn('Publishing a finalised outcome failed; the republish sweep will retry', {
      requestId: record.requestId,
      error: error instanceof Error ? error.message : String(error),
    });
    return true;
  }
  await deps.ledger.markPublished(closed, now);
  return true;
}

/** The outcome of a stopped change from what ARM holds now; undefined when ARM cannot tell right now. */
async function recoveredOutcome(record: LedgerRecord, deps: FinaliseDeps, now: Date): Promise<Outcome | undefined> {
  const base = stoppedOutcomeBase(record, now);
  const { intent } = record;
  if (intent === undefined) return { ...base, status: 'failed', error: NOT_APPLIED };
  if (intent.stateHash === UNOBSERVABLE) return { ...base, status: 'failed', error: OUTCOME_UNKNOWN };
  const parsed = record.target === undefined ? undefined : parseResourceId(record.target);
  if (parsed?.kind !== 'backend') return { ...base, status: 'failed', error: OUTCOME_UNKNOWN };
  const read = await deps.arm.get(parsed.target, {
    deadline: deps.clock.now() + deps.readTimeoutMs,
  });
  if (read.kind === 'transient') return undefined;
  const absent = read.kind === 'armError' && read.status === 404;
  if (read.kind === 'armError' && !absent) return { ...base, status: 'failed', error: OUTCOME_UNKNOWN };
  const state = read.kind === 'ok' ? read.body : null;
  const seen = state === null ? null : { etag: read.headers.etag };
  if (untouchedSince(intent, seen)) return { ...base, status: 'failed', error: NOT_APPLIED };
  if (!stateMatches(state, intent.stateHash, deps.fingerprints)) {
    return { ...base, status: 'failed', httpStatus: 412, error: SUPERSEDED };
  }
  const created = base.operation === 'createOrUpdate' && intent.etag === null;
  const outcome: Outcome = { ...base, status: 'succeeded', httpStatus: created ? 201 : 200 };
  if (base.operation === 'createOrUpdate') outcome.created = created;
  if (read.headers.etag !== undefined) outcome.etag = read.headers.etag;
  if (intent.etag !== null) outcome.etagBefore = intent.etag;
  if (state !== null) outcome.backend = redactSecrets(state);
  return outcome;
}

/** The identity part of the outcome of a stopped change. */
export function stoppedOutcomeBase(record: LedgerRecord, now: Date): Omit<Outcome, 'status'> {
  const base: Omit<Outcome, 'status'> = {
    requestId: record.requestId,
    attempts: record.attempts,
    durationMs: Math.max(0, now.getTime() - Date.parse(record.createdAt)),
  };
  if (isOperation(record.operation)) base.operation = record.operation;
  if (record.target !== undefined) base.target = record.target;
  return base;
}

function isOperation(value: string | undefined): value is Operation {
  return value === 'createOrUpdate' || value === 'update' || value === 'reconnect' || value === 'delete';
}
