/**
 * ARM's answers as outcomes: a success or ARM's refusal with its headers, exhausted retries as our own code (what
 * the caller can act on), and the end of a change an earlier delivery may already have applied.
 */
import type { ArmHeaders, ArmResult, TransientCode } from './arm-ports';
import type { ChangeRequest } from '../domain/contract/change-request';
import type { ErrorBody } from '../domain/contract/error-response';
import type { Outcome } from '../domain/contract/outcome';
import { redactSecrets } from '../domain/redact';
import { isDesired, SUPERSEDED } from './write-intent';

/** An outcome without the fields `finish` adds. */
export type OutcomeBody = Omit<Outcome, 'requestId' | 'operation' | 'target' | 'durationMs'>;

/** Completes an outcome body with the request's identity and the change's duration. */
export type Finish = (rest: OutcomeBody) => Outcome;

/**
 * The end of a change an earlier delivery may have applied, once the backend no longer carries the recorded ETag:
 * the current state is the desired one (applied before that delivery stopped: `succeeded`, reported as the write
 * that did it), or someone wrote after it (`Superseded`: nothing is written). A read that fails is reported as is.
 */
export function settleRecorded(
  request: ChangeRequest,
  recordedEtag: string | null,
  current: ArmResult,
  reads: number,
  finish: Finish,
  attempts = 0,
): Outcome {
  const state =
    current.kind === 'ok' ? current.body : current.kind === 'armError' && current.status === 404 ? null : undefined;
  if (state === undefined)
    return finish({ ...failure(current as Exclude<ArmResult, { kind: 'ok' }>), attempts, reads });
  if (!isDesired(request, state)) {
    return finish(
      withArmHeaders<OutcomeBody>(
        { status: 'failed', httpStatus: 412, attempts, reads, error: SUPERSEDED },
        current.headers,
      ),
    );
  }
  const created = request.operation === 'createOrUpdate' && recordedEtag === null;
  const outcome = withArmHeaders<OutcomeBody>(
    { status: 'succeeded', httpStatus: created ? 201 : 200, attempts, reads },
    current.headers,
  );
  if (typeof recordedEtag === 'string') outcome.etagBefore = recordedEtag;
  if (request.operation === 'createOrUpdate') outcome.created = created;
  if (state !== null) outcome.backend = redactSecrets(state);
  return finish(outcome);
}

/** `out` with ARM's headers set on it (in place: no spread into a new object). */
export function withArmHeaders<T extends object>(out: T, headers: ArmHeaders): T {
  const set = out as Pick<Outcome, 'etag' | 'armRequestId' | 'armCorrelationRequestId'>;
  if (headers.etag !== undefined) set.etag = headers.etag;
  if (headers.requestId !== undefined) set.armRequestId = headers.requestId;
  if (headers.correlationRequestId !== undefined) set.armCorrelationRequestId = headers.correlationRequestId;
  return out;
}

export function failure(
  result: Exclude<ArmResult, { kind: 'ok' }>,
): Omit<Outcome, 'requestId' | 'operation' | 'target' | 'durationMs' | 'attempts'> {
  if (result.kind === 'armError') {
    // ARM refused: its own error, passed through.
    return withArmHeaders<Omit<OutcomeBody, 'attempts'>>(
      { status: 'failed', httpStatus: result.status, error: redactSecrets(result.error) },
      result.headers,
    );
  }
  // Retries exhausted: our code (what the caller can act on), ARM's last error kept as a detail. A write that may
  // have been applied and cannot be checked (a reconnect) is final: OutcomeUnknown, not retried.
  const error: ErrorBody =
    result.outcomeUnknown === true
      ? { code: 'OutcomeUnknown', message: RECONNECT_MAY_HAVE_BEEN_SENT }
      : { code: result.code, message: TRANSIENT_MESSAGES[result.code] };
  error.details = [{ code: result.error.code, message: result.error.message }];
  const out: Omit<Outcome, 'requestId' | 'operation' | 'target' | 'durationMs' | 'attempts'> = withArmHeaders<
    Omit<OutcomeBody, 'attempts'>
  >({ status: 'failed', error: redactSecrets(error) }, result.headers);
  if (result.status !== undefined) out.httpStatus = result.status;
  if (result.retryAfterMs !== undefined) out.retryAfterMs = Math.ceil(result.retryAfterMs);
  return out;
}

const RECONNECT_MAY_HAVE_BEEN_SENT =
  'ARM may have received the reconnect (no clear answer came back); it is not sent twice. Check the backend, and ' +
  'send a new request if another reconnect is wanted.';

const TRANSIENT_MESSAGES: Record<TransientCode, string> = {
  Throttled: 'ARM kept throttling the request until the deadline; retry after the advised delay.',
  UpstreamUnavailable: 'ARM stayed unavailable until the deadline; the change may be retried.',
  Timeout: 'The change did not complete before its deadline; the change may be retried.',
};
