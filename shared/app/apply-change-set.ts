/**
 * The change-set use case: validate a set, deduplicate it through the ledger, run it (`runChangeSet`), record the
 * set and each item, and publish one event per applied item plus one for the set. Every trigger that receives a
 * set (HTTP, queue) makes this one call; its ports (ARM, ledger, publisher, clock, logger) come in `deps`.
 *
 * Exactly once, resumable: the set has a ledger record under its requestId and each item one under `<set>/<index>`.
 * A repeated or redelivered set skips the items already recorded as succeeded and continues from the first that is
 * not; the undo state of an atomic set lives only in the delivery that applied it.
 */
import { backendResourceId } from '../domain/backend-id';
import {
  CHANGE_SET_OPERATION,
  itemRequestId,
  parseChangeSet,
  type ChangeSet,
  type SetItemOutcome,
  type SetOutcome,
} from '../domain/contract/change-set';
import type { ErrorDetail } from '../domain/contract/error-response';
import { policyRefusal } from './apply-change';
import type { Delivery, ProcessDeps } from './process-change';
import { waitForDecision } from './wait-for-decision';
import { ledgerJournal, publishingJournal, publishSet, publishSetAndMark } from './set-journal';
import { rejectedOutcome, requestIdOf } from '../domain/rejection';
import { legacyFingerprinter, type Fingerprinter, type RequestFingerprint } from '../domain/fingerprint';
import type { LedgerRecord } from './ledger-ports';
import { rejectSet, runChangeSet, type PreparedSet, type SetRun } from './run-change-set';
import { isRecord } from '../domain/is-record';
import { LedgerConflictError } from '../domain/ledger-state';

/** The result of processing one delivery of a set (as `Processed` is for a single change). */
export type ProcessedSet =
  | { kind: 'outcome'; outcome: SetOutcome; duplicate: boolean }
  | { kind: 'redeliver'; outcome: SetOutcome }
  | { kind: 'busy'; requestId: string };

/** Validates a raw set and the policy for each change; the prepared set, or its refusal. */
export function prepareChangeSet(
  raw: unknown,
  fallbackRequestId: string,
  deps: Pick<ProcessDeps, 'settings' | 'clock' | 'fingerprints'>,
):
  | { ok: true; set: PreparedSet; fingerprint: RequestFingerprint }
  | { ok: false; outcome: SetOutcome; fingerprint: RequestFingerprint } {
  const fingerprints: Fingerprinter = deps.fingerprints ?? legacyFingerprinter();
  const parsed = parseChangeSet(raw, { defaultApiVersion: deps.settings.apiVersion });
  const requestId = (parsed.ok ? parsed.set.requestId : undefined) ?? requestIdOf(raw) ?? fallbackRequestId;
  if (!parsed.ok) {
    const changes = isRecord(raw) && Array.isArray(raw.changes) ? (raw.changes as unknown[]) : [];
    const items = changes.slice(0, 50).map((change, index): SetItemOutcome => {
      const id = itemRequestId(requestId, index);
      const own = (parsed.error.details ?? []).filter((d) => d.target?.startsWith(`changes[${index}]`) === true);
      const { error: _error, ...item } = rejectedOutcome(change, parsed.error, id);
      const out: SetItemOutcome = { ...item, requestId: id, index, status: 'rejected' };
      if (own.length > 0) out.error = { code: 'ValidationError', message: own[0]!.message, details: own };
      return out;
    });
    const outcome: SetOutcome = {
      requestId,
      status: 'rejected',
      atomic: isRecord(raw) && raw.atomic === true,
      order: [],
      items,
      error: parsed.error,
      durationMs: 0,
    };
    return { ok: false, outcome, fingerprint: fingerprints.of({ invalidSet: raw ?? null }) };
  }
  const set = toPrepared(parsed.set, requestId);
  const fingerprint = setFingerprint(set, fingerprints);
  const refusals: ErrorDetail[] = [];
  let code = 'ScopeNotAllowed';
  for (const item of set.items) {
    const refusal = policyRefusal(item.request, deps.settings);
    if (refusal === undefined) continue;
    if (refusal.code === 'OperationNotAllowed') code = 'OperationNotAllowed';
    const prefix = `changes[${item.index}]`;
    const details = refusal.details ?? [{ code: refusal.code, message: refusal.message, target: refusal.target }];
    for (const d of details) {
      refusals.push({ code: d.code, message: d.message, target: d.target ? `${prefix}.${d.target}` : prefix });
    }
  }
  if (refusals.length === 0) return { ok: true, set, fingerprint };
  const outcome = rejectSet(
    set,
    refusals,
    (status, order, items, extra) => ({
      requestId,
      status,
      atomic: set.atomic,
      order,
      items,
      ...extra,
      durationMs: 0,
    }),
    code,
  );
  return { ok: false, outcome, fingerprint };
}

function toPrepared(set: ChangeSet, requestId: string): PreparedSet {
  return {
    requestId,
    atomic: set.atomic,
    dryRun: set.dryRun,
    items: set.changes.map((change, index) => ({
      index,
      request: { ...change, requestId: itemRequestId(requestId, index), dryRun: set.dryRun },
    })),
  };
}

/** What makes two sets the same: their changes (targets by lower-cased ARM id) and `atomic`; not dryRun or ids. */
function setFingerprint(set: PreparedSet, fingerprints: Fingerprinter): RequestFingerprint {
  const changes = set.items.map(({ request }) => {
    const { requestId: _id, dryRun: _dry, ...rest } = request;
    return { ...rest, target: backendResourceId(request.target).toLowerCase() };
  });
  return fingerprints.of({ changeSet: changes, atomic: set.atomic });
}

/**
 * Validates, deduplicates, runs, records and publishes one delivery of a change set. Throws only what the trigger
 * should retry: storage or publishing failures.
 */
export async function processChangeSet(raw: unknown, delivery: Delivery, deps: ProcessDeps): Promise<ProcessedSet> {
  const prepared = prepareChangeSet(raw, delivery.fallbackRequestId, deps);
  if (!prepared.ok) {
    const rejected = prepared.outcome;
    return settleSet(rejected.requestId, prepared.fingerprint, delivery, deps, () =>
      Promise.resolve({ kind: 'done', outcome: rejected, transient: false }),
    );
  }
  const { set } = prepared;
  // Atomic sets end in this delivery: their undo state would not survive a redelivery.
  const transientIsFinal = set.atomic || delivery.onTransient === 'final';
  if (set.dryRun || deps.ledger === undefined) {
    const run = await runChangeSet(set, deps, publishingJournal(delivery, deps), transientIsFinal || set.dryRun);
    if (run.kind === 'busy') return { kind: 'busy', requestId: set.requestId };
    if (run.transient && delivery.onTransient === 'redeliver') return { kind: 'redeliver', outcome: run.outcome };
    await publishSet(run.outcome, delivery, deps);
    return { kind: 'outcome', outcome: run.outcome, duplicate: false };
  }
  const ledger = deps.ledger;
  return settleSet(set.requestId, prepared.fingerprint, delivery, deps, () =>
    runChangeSet(set, deps, ledgerJournal(ledger, delivery, deps), transientIsFinal),
  );
}

async function settleSet(
  requestId: string,
  fingerprint: RequestFingerprint,
  delivery: Delivery,
  deps: ProcessDeps,
  run: () => Promise<SetRun>,
  reclaimed = false,
): Promise<ProcessedSet> {
  const { ledger } = deps;
  if (ledger === undefined) {
    const result = await run();
    if (result.kind === 'busy') return { kind: 'busy', requestId };
    await publishSet(result.outcome, delivery, deps);
    return { kind: 'outcome', outcome: result.outcome, duplicate: false };
  }
  const now = (): Date => new Date(deps.clock.now());
  const claim = await ledger.claim({
    requestId,
    fingerprint: fingerprint.value,
    sameRequest: fingerprint.matches,
    operation: CHANGE_SET_OPERATION,
    leaseMs: deps.leaseMs,
    now: now(),
  });
  switch (claim.kind) {
    case 'busy': {
      const decided = await waitForDecision(ledger, requestId, claim.record, deps);
      if (decided === 'claimable' && !reclaimed) return settleSet(requestId, fingerprint, delivery, deps, run, true);
      if (decided === 'claimable' || decided?.setOutcome === undefined) return { kind: 'busy', requestId };
      return { kind: 'outcome', outcome: decided.setOutcome, duplicate: true };
    }
    case 'conflict': {
      const outcome: SetOutcome = {
        requestId,
        status: 'rejected',
        atomic: false,
        order: [],
        items: [],
        error: {
          code: 'RequestIdConflict',
          message: 'This requestId was already used for a different request. Use a new requestId for a new change.',
          target: 'requestId',
        },
        durationMs: 0,
      };
      await publishSet(outcome, delivery, deps);
      return { kind: 'outcome', outcome, duplicate: false };
    }
    case 'done': {
      // A set closed by the dead-letter or stalled-delivery sweep holds a plain outcome: answer it as the set's.
      const closed = claim.record.outcome;
      const outcome: SetOutcome | undefined =
        claim.record.setOutcome ??
        (closed === undefined
          ? undefined
          : {
              requestId,
              status: closed.status,
              atomic: false,
              order: [],
              items: [],
              ...(closed.error === undefined ? {} : { error: closed.error }),
              durationMs: closed.durationMs,
            });
      if (outcome === undefined) return { kind: 'busy', requestId };
      if (!claim.record.published) await publishSetAndMark(ledger, claim.record, outcome, delivery, deps);
      deps.logger.info('Duplicate change set answered from the ledger', { requestId, status: outcome.status });
      return { kind: 'outcome', outcome, duplicate: true };
    }
    case 'claimed': {
      const result = await run();
      if (result.kind === 'busy') {
        await ledger.release(claim.record, 0, now());
        return { kind: 'busy', requestId };
      }
      const { outcome } = result;
      if (result.transient) {
        // Items recorded so far stay recorded: a redelivery or a retried call resumes after them.
        await ledger.release(claim.record, 0, now());
        if (delivery.onTransient === 'redeliver') return { kind: 'redeliver', outcome };
        await publishSet(outcome, delivery, deps);
        return { kind: 'outcome', outcome, duplicate: false };
      }
      let record: LedgerRecord;
      try {
        record = await ledger.complete(claim.record, outcome, { now: now() });
      } catch (error) {
        if (error instanceof LedgerConflictError) return { kind: 'busy', requestId };
        throw error;
      }
      await publishSetAndMark(ledger, record, outcome, delivery, deps);
      return { kind: 'outcome', outcome, duplicate: false };
    }
  }
}
