/**
 * The ledger's record transitions, as values: each function returns the next record (without its storage version)
 * for one operation of the {@link ChangeLedger} port. The table ledger (table-ledger.ts) writes them conditionally;
 * which transition a stored record allows is decided here too, so the storage code holds no lifecycle rules.
 */
import type { SetOutcome } from '../../domain/contract/change-set';
import type { Outcome } from '../../domain/contract/outcome';
import type { ClaimInput, LedgerRecord, RegisterInput, WriteIntent } from '../../app/ledger-ports';
import { LedgerConflictError, TERMINAL_STATES } from '../../domain/ledger-state';
import { fitOutcome, fitSetOutcome } from './ledger-entity';

export type NextRecord = Omit<LedgerRecord, 'version'>;

/** How a stored record answers a claim or a registration before anything is written. */
export type Standing = 'conflict' | 'done' | 'busy' | 'idle';

/** Conflict (another request's id), done (decided), busy (a live lease), or idle (free to take). */
export function standingOf(record: LedgerRecord, input: RegisterInput): Standing {
  if (record.fingerprint !== input.fingerprint && input.sameRequest?.(record.fingerprint) !== true) return 'conflict';
  if (TERMINAL_STATES.has(record.state) && record.retryable !== true) return 'done';
  if (record.leaseUntil !== undefined && Date.parse(record.leaseUntil) > input.now.getTime()) return 'busy';
  return 'idle';
}

/** A new record: `applying` for a claim (with its lease), `received` for a registration (no delivery yet). */
export function newRecord(input: RegisterInput, leaseMs?: number): NextRecord {
  const now = input.now.toISOString();
  const record: NextRecord = {
    requestId: input.requestId,
    fingerprint: input.fingerprint,
    state: leaseMs === undefined ? 'received' : 'applying',
    ...(input.operation === undefined ? {} : { operation: input.operation }),
    ...(input.target === undefined ? {} : { target: input.target }),
    ...(input.origin === undefined ? {} : { origin: input.origin }),
    attempts: 0,
    deliveries: leaseMs === undefined ? 0 : 1,
    published: false,
    createdAt: now,
    updatedAt: now,
  };
  if (leaseMs !== undefined) record.leaseUntil = new Date(input.now.getTime() + leaseMs).toISOString();
  return record;
}

/**
 * An idle record taken over by a claim: released, failed transiently (a retry), or its delivery crashed (lease
 * expired). The intent stays: this delivery's writes are conditional on it.
 */
export function claimed(record: LedgerRecord, input: ClaimInput): NextRecord {
  const { version: _version, outcome: _outcome, retryable: _retryable, etagAfter: _after, ...rest } = record;
  return {
    ...rest,
    state: 'applying',
    published: false,
    ...(record.operation === undefined && input.operation !== undefined ? { operation: input.operation } : {}),
    ...(record.target === undefined && input.target !== undefined ? { target: input.target } : {}),
    deliveries: record.deliveries + 1,
    updatedAt: input.now.toISOString(),
    leaseUntil: new Date(input.now.getTime() + input.leaseMs).toISOString(),
  };
}

/** An idle record registered again: `received`, waiting for its delivery (nothing counted as a delivery). */
export function registered(record: LedgerRecord, input: RegisterInput): NextRecord {
  const {
    version: _version,
    outcome: _outcome,
    retryable: _retryable,
    etagAfter: _after,
    leaseUntil: _lease,
    ...rest
  } = record;
  return {
    ...rest,
    state: 'received',
    published: false,
    ...(record.operation === undefined && input.operation !== undefined ? { operation: input.operation } : {}),
    ...(record.target === undefined && input.target !== undefined ? { target: input.target } : {}),
    updatedAt: input.now.toISOString(),
  };
}

/** The terminal outcome of the delivery holding the record; the outcome's attempts are added. */
export function completed(
  record: LedgerRecord,
  outcome: Outcome,
  extra: { etagBefore?: string; now: Date; retryable?: boolean; clearIntent?: boolean },
): NextRecord {
  assertApplying(record, 'complete');
  const { version: _version, leaseUntil: _lease, etagAfter: _etagAfter, intent, ...rest } = record;
  const stored = fitOutcome(outcome);
  const etagBefore = extra.etagBefore ?? record.etagBefore;
  const operation = record.operation ?? stored.operation;
  const target = record.target ?? stored.target;
  return {
    ...rest,
    ...(intent === undefined || extra.clearIntent === true ? {} : { intent }),
    state: stored.status,
    outcome: stored,
    ...(operation === undefined ? {} : { operation }),
    ...(target === undefined ? {} : { target }),
    ...(etagBefore === undefined ? {} : { etagBefore }),
    ...(stored.etag === undefined ? {} : { etagAfter: stored.etag }),
    attempts: record.attempts + stored.attempts,
    updatedAt: extra.now.toISOString(),
    ...(extra.retryable === true && stored.status === 'failed' ? { retryable: true } : {}),
  };
}

/** A change set's terminal outcome; `rolledBack` and `failed` are both the terminal state `failed`. */
export function setCompleted(record: LedgerRecord, outcome: SetOutcome, now: Date): NextRecord {
  assertApplying(record, 'complete');
  const { version: _version, leaseUntil: _lease, intent: _intent, ...rest } = record;
  return {
    ...rest,
    state: outcome.status === 'rolledBack' ? 'failed' : outcome.status,
    setOutcome: fitSetOutcome(outcome),
    updatedAt: now.toISOString(),
  };
}

/** The write intent of the delivery holding the record, before its first write. */
export function withIntent(record: LedgerRecord, intent: WriteIntent, now: Date): NextRecord {
  assertApplying(record, 'record the write intent of');
  const { version: _version, ...rest } = record;
  return { ...rest, intent, updatedAt: now.toISOString() };
}

/** A stopped delivery's record finalised by a sweep (never one already final). */
export function closed(record: LedgerRecord, outcome: Outcome, now: Date): NextRecord {
  if (TERMINAL_STATES.has(record.state) && record.retryable !== true) {
    throw new LedgerConflictError(record.requestId, `Request '${record.requestId}' is already final.`);
  }
  const { version: _version, leaseUntil: _lease, retryable: _retryable, ...rest } = record;
  const stored = fitOutcome(outcome);
  return { ...rest, state: stored.status, outcome: stored, published: false, updatedAt: now.toISOString() };
}

/** The delivery gave up transiently: `received`, lease cleared, attempts added, so a redelivery can claim it. */
export function released(
  record: LedgerRecord,
  attempts: number,
  now: Date,
  options: { clearIntent?: boolean },
): NextRecord {
  assertApplying(record, 'release');
  const { version: _version, leaseUntil: _lease, intent, ...rest } = record;
  return {
    ...rest,
    ...(intent === undefined || options.clearIntent === true ? {} : { intent }),
    state: 'received',
    attempts: record.attempts + attempts,
    updatedAt: now.toISOString(),
  };
}

/** Only the delivery holding the claim may record its end; a terminal record is never overwritten. */
function assertApplying(record: LedgerRecord, action: string): void {
  if (record.state !== 'applying') {
    throw new LedgerConflictError(
      record.requestId,
      `Cannot ${action} request '${record.requestId}': its ledger record is '${record.state}', not 'applying'.`,
    );
  }
}
