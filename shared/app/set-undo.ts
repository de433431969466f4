/**
 * Undoing the applied changes of an atomic set, in reverse order. Each undo is conditional on the ETag our own write
 * produced, so a change someone else made in between is never overwritten: that undo is reported `notUndone`.
 *
 * - created (the backend did not exist): DELETE with `If-Match: <our ETag>` — allowed without ALLOW_DELETE, since it
 *   only removes what the set created;
 * - updated (PUT or PATCH of an existing backend): PUT of the state read before our write, `If-Match: <our ETag>`;
 * - deleted: PUT of the state read before, only while the backend is still absent (ARM has no create-only
 *   precondition for backends, so a re-creation racing this one in the same instant could be overwritten).
 */
import type { ArmBackendClient, ArmResult, CallOptions } from './arm-ports';
import type { Undo } from '../domain/contract/change-set';
import type { ChangeRequest } from '../domain/contract/change-request';
import type { ErrorBody } from '../domain/contract/error-response';
import { comparableState } from '../domain/plan';
import { redactSecrets, scrubSecretValues, secretValues } from '../domain/redact';

/** The state of a target read before the set wrote it. */
export type Before = { exists: false } | { exists: true; etag: string | undefined; body: unknown };

/** A change the set applied (a write that changed something), with what is needed to undo it. */
export interface AppliedStep {
  index: number;
  request: ChangeRequest;
  before: Before;
  /** The ETag our write produced (absent for a delete). */
  etagAfter: string | undefined;
}

/** Reads a target's state before it is written; undefined with the failure when it cannot be read. */
export async function readBefore(
  arm: ArmBackendClient,
  request: ChangeRequest,
  call: CallOptions,
): Promise<{ before: Before } | { failure: Exclude<ArmResult, { kind: 'ok' }> }> {
  const current = await arm.get(request.target, call);
  if (current.kind === 'ok') return { before: { exists: true, etag: current.headers.etag, body: current.body } };
  if (current.kind === 'armError' && current.status === 404) return { before: { exists: false } };
  return { failure: current };
}

/** Undoes the steps (given in the order they were applied) in reverse; the undo of each, by item index. */
export async function undoSteps(
  steps: readonly AppliedStep[],
  arm: ArmBackendClient,
  call: CallOptions,
): Promise<Map<number, Undo>> {
  const undone = new Map<number, Undo>();
  for (const step of [...steps].reverse()) undone.set(step.index, await undoStep(step, arm, call));
  return undone;
}

async function undoStep(step: AppliedStep, arm: ArmBackendClient, call: CallOptions): Promise<Undo> {
  const { request, before } = step;
  const secrets = before.exists ? secretValues(before.body) : [];
  if (!before.exists) {
    if (step.etagAfter === undefined) return notUndone('NoETag', 'ARM returned no ETag for the write to undo.');
    return fromResult(await arm.delete(request.target, { ...call, ifMatch: step.etagAfter }), secrets, 'delete');
  }
  const body = comparableState(before.body);
  if (request.operation === 'delete') {
    const now = await arm.get(request.target, call);
    if (now.kind === 'ok') {
      return notUndone('Recreated', 'Someone else created the backend again after this set deleted it.', now.status);
    }
    if (!(now.kind === 'armError' && now.status === 404)) return fromResult(now, secrets, 'read');
    return fromResult(await arm.createOrUpdate(request.target, body, { ...call, currentEtag: null }), secrets, 'put');
  }
  if (step.etagAfter === undefined) return notUndone('NoETag', 'ARM returned no ETag for the write to undo.');
  return fromResult(
    await arm.createOrUpdate(request.target, body, { ...call, ifMatch: step.etagAfter }),
    secrets,
    'put',
  );
}

function fromResult(result: ArmResult<unknown>, secrets: string[], what: 'delete' | 'put' | 'read'): Undo {
  if (result.kind === 'ok') return { status: 'undone', httpStatus: result.status };
  if (result.kind === 'armError' && result.status === 412) {
    return notUndone(
      'ChangedSinceApplied',
      'The backend was changed by someone else after this set wrote it; the undo was not forced.',
      412,
    );
  }
  // A delete of a backend that is already gone leaves it as it was before the set.
  if (what === 'delete' && result.kind === 'armError' && result.status === 404) {
    return { status: 'undone', httpStatus: 404 };
  }
  const error: ErrorBody = scrubSecretValues(redactSecrets(result.error), secrets);
  const undo: Undo = { status: 'notUndone', error };
  if (result.status !== undefined) undo.httpStatus = result.status;
  return undo;
}

function notUndone(code: string, message: string, httpStatus?: number): Undo {
  const undo: Undo = { status: 'notUndone', error: { code, message } };
  if (httpStatus !== undefined) undo.httpStatus = httpStatus;
  return undo;
}

/**
 * For the write that failed with an unknown outcome (timed out, connection lost): whether it may have landed. It
 * is not undone, because a landed write of ours cannot be told apart from someone else's change.
 */
export async function checkUnknownWrite(
  request: ChangeRequest,
  before: Before,
  arm: ArmBackendClient,
  call: CallOptions,
): Promise<Undo | undefined> {
  const now = await arm.get(request.target, call);
  const unchanged =
    (now.kind === 'ok' && before.exists && now.headers.etag !== undefined && now.headers.etag === before.etag) ||
    (now.kind === 'armError' && now.status === 404 && !before.exists);
  if (unchanged) return undefined;
  return notUndone(
    'OutcomeUnknown',
    'The failed write may have been applied; it was not undone, since it cannot be told from a change by someone else.',
  );
}
