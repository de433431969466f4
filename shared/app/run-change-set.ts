/**
 * Runs a validated change set: reads what the set's rules need (the backends of each scope it deletes from or
 * builds pools in), checks the set as a whole, orders it by dependencies, applies it one change at a time through
 * the engine (`applyChange`: ETags, retries, write limiter, SKIP_UNCHANGED), stops at the first failure and, when
 * atomic, undoes what was applied. Every expected failure is a value; nothing here touches the ledger or the broker:
 * the caller hands in an {@link ItemJournal} that records each item.
 */
import type { CallOptions } from './arm-ports';
import { backendResourceId, type BackendScope } from '../domain/backend-id';
import type { SetItemOutcome, SetOutcome, SetStatus, Undo } from '../domain/contract/change-set';
import type { ChangeRequest } from '../domain/contract/change-request';
import type { ErrorBody, ErrorDetail } from '../domain/contract/error-response';
import { isTransientFailure, type Outcome } from '../domain/contract/outcome';
import { currentState } from '../domain/set-graph';
import { dependencies, stableTopologicalOrder } from '../domain/set-order';
import { scopesToRead, setProblems } from '../domain/set-rules';
import { applyChange, type EngineDeps } from './apply-change';
import { LedgerConflictError } from '../domain/ledger-state';
import type { IntentPort } from './write-intent';
import { redactSecrets } from '../domain/redact';
import { checkUnknownWrite, readBefore, undoSteps, type AppliedStep, type Before } from './set-undo';

/** One change of a set, with its item requestId (`<set>/<index>`). */
export interface SetItem {
  index: number;
  request: ChangeRequest & { requestId: string };
}

/** A set ready to run. */
export interface PreparedSet {
  requestId: string;
  atomic: boolean;
  dryRun: boolean;
  items: SetItem[];
}

/** What the journal says about an item before it runs. */
export type ItemStart =
  /**
   * Apply it now; report its outcome (`final`: record it; otherwise it may be retried by a redelivery). With a
   * ledger, `intent` is the item's write intent (write-intent.ts): a later delivery never rolls the backend back.
   */
  | { kind: 'run'; intent?: IntentPort; finish(outcome: Outcome, final: boolean): Promise<void> }
  /** An earlier delivery recorded its outcome: do not apply it again. */
  | { kind: 'recorded'; outcome: Outcome }
  /** Another delivery holds it. */
  | { kind: 'busy' };

/** Records the items of a set (the ledger, or nothing for dry runs and ledger-less runs). */
export interface ItemJournal {
  begin(item: SetItem): Promise<ItemStart>;
}

/** The result of running a set: its outcome; `transient` when it stopped on a failure a redelivery may cure. */
export type SetRun = { kind: 'done'; outcome: SetOutcome; transient: boolean } | { kind: 'busy' };

/** The share of the deadline an atomic set keeps for its undo. */
const UNDO_SHARE = 0.25;

/**
 * Runs the set. `transientIsFinal`: whether a transient failure ends the set (last delivery, or atomic: the undo
 * state lives only in this delivery) or leaves it to be resumed.
 */
export async function runChangeSet(
  set: PreparedSet,
  deps: EngineDeps,
  journal: ItemJournal,
  transientIsFinal: boolean,
): Promise<SetRun> {
  const started = deps.clock.now();
  const end = started + deps.settings.deadlineMs;
  const forwardEnd = set.atomic && !set.dryRun ? end - deps.settings.deadlineMs * UNDO_SHARE : end;
  const call = (until: number): CallOptions => ({ deadline: until, logger: deps.logger });
  const finish = (status: SetStatus, order: number[], items: SetItemOutcome[], extra: Partial<SetOutcome> = {}) => {
    const outcome: SetOutcome = {
      requestId: set.requestId,
      status,
      atomic: set.atomic,
      ...(set.dryRun ? { dryRun: true } : {}),
      order,
      items,
      ...extra,
      durationMs: deps.clock.now() - started,
    };
    return outcome;
  };

  // The state the set's rules need, read once.
  const changes = set.items.map((item) => item.request);
  const lists: Array<{ scope: BackendScope; items: unknown[] }> = [];
  for (const scope of scopesToRead(changes)) {
    const listed = await deps.arm.list(scope, call(forwardEnd));
    if (listed.kind === 'ok') lists.push({ scope, items: listed.body.value });
    else if (listed.kind === 'armError' && listed.status === 404) lists.push({ scope, items: [] });
    else {
      const error: ErrorBody = { code: listed.kind === 'transient' ? listed.code : listed.error.code, message: '' };
      error.message = 'Reading the backends the set depends on failed; nothing was changed.';
      error.details = [{ code: listed.error.code, message: listed.error.message }];
      const retry = listed.kind === 'transient' && listed.retryAfterMs !== undefined;
      return {
        kind: 'done',
        transient: listed.kind === 'transient',
        outcome: finish('failed', [], skippedAll(set), {
          error: redactSecrets(error),
          ...(retry ? { retryAfterMs: Math.ceil(listed.retryAfterMs!) } : {}),
        }),
      };
    }
  }
  const current = currentState(lists);
  const problems = setProblems(changes, current);
  if (problems.length > 0) return { kind: 'done', transient: false, outcome: rejectSet(set, problems, finish) };
  const ordered = stableTopologicalOrder(changes.length, dependencies(changes, current));
  const order = ordered.ok ? ordered.order : changes.map((_, i) => i); // setProblems refuses cycles

  const outcomes = new Map<number, SetItemOutcome>();
  const applied: AppliedStep[] = [];
  const lost = new Set<number>(); // applied by an earlier delivery: no undo state
  let failed: { index: number; before?: Before } | undefined;
  let transient = false;
  for (const index of order) {
    const item = set.items[index]!;
    const start = await journal.begin(item);
    if (start.kind === 'busy') return { kind: 'busy' };
    if (start.kind === 'recorded') {
      outcomes.set(index, { ...start.outcome, index });
      if (start.outcome.status === 'succeeded') {
        lost.add(index);
        continue;
      }
      failed = { index };
      break;
    }
    let before: Before | undefined;
    let outcome: Outcome;
    const writes = item.request.operation !== 'reconnect';
    const read: Awaited<ReturnType<typeof readBefore>> | { before?: undefined } =
      set.atomic && writes && !set.dryRun ? await readBefore(deps.arm, item.request, call(forwardEnd)) : {};
    if ('failure' in read) {
      outcome = beforeReadFailure(item, read.failure.error, read.failure.status);
      transient = read.failure.kind === 'transient';
    } else {
      before = read.before;
      const request = { ...item.request, dryRun: set.dryRun };
      // Atomic: the write is conditional on the state kept for the undo, so the undo restores exactly what was there.
      if (before?.exists === true && request.ifMatch === undefined && before.etag !== undefined) {
        request.ifMatch = before.etag;
      }
      const remaining = Math.max(0, forwardEnd - deps.clock.now());
      const itemDeps: EngineDeps = { ...deps, settings: { ...deps.settings, deadlineMs: remaining } };
      if (start.intent !== undefined) itemDeps.intent = start.intent;
      try {
        outcome = await applyChange(request, itemDeps);
      } catch (error) {
        // The item's lease ran out before its first write and another delivery took it over: nothing written here.
        if (error instanceof LedgerConflictError) return { kind: 'busy' };
        throw error;
      }
      transient = isTransientFailure(outcome);
    }
    await start.finish(outcome, !transient || transientIsFinal);
    outcomes.set(index, { ...outcome, index });
    if (outcome.status !== 'succeeded') {
      failed = before === undefined ? { index } : { index, before };
      break;
    }
    if (before !== undefined && outcome.unchanged !== true) {
      // A success without a send was settled from the write intent: an earlier delivery wrote it, and what this
      // delivery read before it is not the state the set found.
      if (outcome.attempts === 0) lost.add(index);
      else applied.push({ index, request: item.request, before, etagAfter: outcome.etag });
    }
  }

  const items = set.items.map((item) => outcomes.get(item.index) ?? skipped(item));
  if (failed === undefined) {
    const allOk = items.every((i) => i.status === 'succeeded');
    return { kind: 'done', transient: false, outcome: finish(allOk ? 'succeeded' : 'failed', order, items) };
  }
  const failing = items[failed.index]!;
  const extra: Partial<SetOutcome> = failing.retryAfterMs === undefined ? {} : { retryAfterMs: failing.retryAfterMs };
  if (!set.atomic || set.dryRun) return { kind: 'done', transient, outcome: finish('failed', order, items, extra) };

  // Atomic: undo what this delivery applied, in reverse; report what could not be.
  const undoCall = call(Math.max(end, deps.clock.now() + 1000));
  const undos = await undoSteps(applied, deps.arm, undoCall);
  if (transient && failed.before !== undefined && failing.operation !== 'reconnect') {
    const unknown = await checkUnknownWrite(set.items[failed.index]!.request, failed.before, deps.arm, undoCall);
    if (unknown !== undefined) undos.set(failed.index, unknown);
  }
  for (const index of lost) undos.set(index, UNDO_STATE_LOST);
  const withUndo = items.map((item): SetItemOutcome => {
    const undo = undos.get(item.index) ?? (item.status === 'succeeded' ? NOT_NEEDED : undefined);
    return undo === undefined ? item : { ...item, undo };
  });
  const complete = withUndo.every((i) => i.undo === undefined || i.undo.status !== 'notUndone');
  return {
    kind: 'done',
    transient: false,
    outcome: finish(complete ? 'rolledBack' : 'failed', order, withUndo, extra),
  };
}

const NOT_NEEDED: Undo = { status: 'notNeeded' };
const UNDO_STATE_LOST: Undo = {
  status: 'notUndone',
  error: {
    code: 'UndoStateLost',
    message: 'Applied by an earlier delivery of the set; its earlier state is not kept across a restart.',
  },
};

function identity(item: SetItem): Pick<SetItemOutcome, 'requestId' | 'operation' | 'target' | 'index'> {
  return {
    requestId: item.request.requestId,
    operation: item.request.operation,
    target: backendResourceId(item.request.target),
    index: item.index,
  };
}

function skipped(item: SetItem): SetItemOutcome {
  return { ...identity(item), status: 'skipped', attempts: 0, durationMs: 0 };
}

function skippedAll(set: PreparedSet): SetItemOutcome[] {
  return set.items.map(skipped);
}

function beforeReadFailure(item: SetItem, error: ErrorBody, status: number | undefined): Outcome {
  const outcome: Outcome = {
    ...identity(item),
    status: 'failed',
    attempts: 0,
    durationMs: 0,
    error: {
      code: 'UpstreamUnavailable',
      message: 'The state to keep for the undo could not be read; nothing was written.',
      details: [{ code: error.code, message: error.message }],
    },
  };
  if (status !== undefined) outcome.httpStatus = status;
  return outcome;
}

/** A set refused as a whole: every item `rejected`, each with the problems under its own path. */
export function rejectSet(
  set: PreparedSet,
  problems: ErrorDetail[],
  finish: (status: SetStatus, order: number[], items: SetItemOutcome[], extra?: Partial<SetOutcome>) => SetOutcome,
  code = 'ValidationError',
): SetOutcome {
  const items = set.items.map((item): SetItemOutcome => {
    const own = problems.filter((p) => p.target?.startsWith(`changes[${item.index}]`) === true);
    const out: SetItemOutcome = { ...identity(item), status: 'rejected', attempts: 0, durationMs: 0 };
    if (own.length > 0) out.error = { code, message: own[0]!.message, details: own };
    return out;
  });
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const first = problems[0];
  const message = `The change set is invalid: ${count}.${first ? ` First: ${first.target ?? 'the set'}: ${first.message}` : ''}`;
  return finish('rejected', [], items, { error: { code, message, details: problems } });
}
