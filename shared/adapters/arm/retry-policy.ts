/**
 * The retry policy: sends one request (admission, then the attempt step) until ARM answers something final, retrying
 * transient failures as the pure `decideRetry` says, within the call's deadline and the attempt cap.
 *
 * It never decides whether a write landed. When a write's outcome is unknown, a strategy that asked for it (`checked`)
 * gets an {@link OutcomeCheck} back instead of a re-send; it reads the backend, and either settles the call or asks
 * for the request to be sent again (its `sends` count carries on). Core-rest-pipeline's retry policy does not fit
 * ARM (no PessimisticConcurrencyConflict, no deadline, no unknown-outcome reads), hence this one.
 */
import type { ArmError } from '../../app/arm-ports';
import { wasAborted, type CallState } from './arm-call';
import { isSuccess, type Answer, type RequestSpec } from './arm-codec';
import type { ArmContext } from './arm-context';
import { ABORTED_SEND_CODE, isArmError } from './arm-error';
import { attemptTimeoutMs, sendAttempt } from './attempt-timeout';
import { ATTEMPT_TIMEOUT_CODE, decideRetry, isUnknownOutcome, type AttemptOutcome } from './retry-strategy';
import { admitWrite, needsAdmission, noteReadAnswer, settleAdmission } from './write-admission';

/**
 * A write may have been applied without our seeing it: check before sending it again. `refused` is the 404/412 a
 * re-send got, which may be refusing our own earlier, unseen success; without it, the re-send is still to come.
 */
export interface OutcomeCheck {
  kind: 'check';
  refused?: Answer;
}

const CHECK_BEFORE_RESEND: OutcomeCheck = { kind: 'check' };

/**
 * Sends `spec` until ARM answers something final (2xx, a refusal, or a 404/412), or the call ends as an
 * {@link ArmError} (out of time or attempts, aborted, not retryable).
 */
export function sendWithRetries(ctx: ArmContext, call: CallState, spec: RequestSpec): Promise<Answer | ArmError> {
  return retryLoop(ctx, call, spec, false) as Promise<Answer | ArmError>;
}

/** {@link sendWithRetries} for a write strategy: an unknown outcome comes back as an {@link OutcomeCheck}. */
export function sendCheckingOutcome(
  ctx: ArmContext,
  call: CallState,
  spec: RequestSpec,
): Promise<Answer | ArmError | OutcomeCheck> {
  return retryLoop(ctx, call, spec, true);
}

async function retryLoop(
  ctx: ArmContext,
  call: CallState,
  spec: RequestSpec,
  checked: boolean,
): Promise<Answer | ArmError | OutcomeCheck> {
  for (;;) {
    if (call.isAborted) return call.aborted();
    if (spec.sends === 0 && call.deadline - ctx.clock.now() <= 0) {
      call.lastFailure = 'the deadline had passed before the request was sent';
      return call.transient('Timeout');
    }
    // Without a limiter (or for a read) no permit is asked for: not even an await is spent on it.
    const limiter = ctx.writeLimiter;
    const permit = needsAdmission(limiter, spec) ? await admitWrite(ctx, limiter, call) : undefined;
    if (isArmError(permit)) return permit;
    const observed = call.observer?.attemptStarted(spec.method, spec.role);
    const timeoutMs = attemptTimeoutMs(ctx, call);
    let attempt: Answer | ArmError | undefined;
    try {
      attempt = await sendAttempt(ctx, call, spec, timeoutMs);
    } finally {
      // Settled on every path: a permit never settled would count as in flight for ever.
      if (permit !== undefined) settleAdmission(permit, spec, attempt?.kind === 'answer' ? attempt : undefined);
    }
    if (attempt.kind === 'answer') {
      noteReadAnswer(ctx, call, spec, attempt);
      observed?.answered({
        status: attempt.status,
        armRequestId: attempt.headers.requestId,
        errorCode: attempt.error?.code,
      });
    } else {
      observed?.answered({ errorCode: wasAborted(attempt) ? ABORTED_SEND_CODE : attempt.error.code });
    }
    spec.sends += 1;
    if (spec.role === 'operation') call.attempts += 1;
    else call.reads += 1;
    if (attempt.kind !== 'answer' && wasAborted(attempt)) return call.aborted();

    if (attempt.kind === 'answer' && (attempt.status === 404 || attempt.status === 412)) {
      return checked && call.ambiguous ? { kind: 'check', refused: attempt } : attempt;
    }
    if (attempt.kind === 'answer' && isSuccess(attempt.status)) return attempt;

    const outcome: AttemptOutcome =
      attempt.kind === 'answer' ? attempt.outcome : { kind: 'network', errorCode: attempt.error.code };
    const decision = decideRetry({
      outcome,
      attempts: spec.sends,
      now: ctx.clock.now(),
      deadline: call.deadline,
      random: ctx.random,
      settings: ctx.retry,
    });
    if (decision.action === 'final') {
      if (attempt.kind === 'answer') return attempt;
      // A connection failure retrying cannot cure (TLS, DNS, credential): nothing from ARM to pass on.
      call.lastFailure = attempt.error.message;
      return call.transient('UpstreamUnavailable');
    }
    recordFailure(call, spec, attempt, outcome);
    call.lastCode = decision.code;
    if (spec.atMostOnce === true && call.ambiguous) return call.unknownOutcome();
    if (decision.action === 'giveUp') return call.transient(decision.code, decision.retryAfterMs);
    observed?.retrying(decision.code, decision.delayMs);

    call.logger?.warn('Retrying ARM request', {
      method: spec.method,
      url: withoutQuery(spec.url),
      attempt: spec.sends,
      ...(attempt.kind === 'answer' ? { status: attempt.status } : {}),
      errorCode: attempt.error?.code,
      delayMs: decision.delayMs,
      correlationRequestId: call.correlationId,
    });
    if (!(await pause(ctx, call, decision.delayMs))) return call.aborted();
    if (checked && isUnknownOutcome(outcome)) return CHECK_BEFORE_RESEND;
  }
}

/**
 * Goes on after an {@link OutcomeCheck} whose read did not settle the call: the refusal that prompted the check is
 * the answer; otherwise the call ends if it was aborted or is out of time, or `spec` is sent again.
 */
export function resendAfterCheck(
  ctx: ArmContext,
  call: CallState,
  spec: RequestSpec,
  check: OutcomeCheck,
): Promise<Answer | ArmError | OutcomeCheck> | Answer | ArmError {
  if (check.refused !== undefined) return check.refused;
  if (call.isAborted) return call.aborted();
  // The read may have used up the budget; do not start another write past the deadline.
  if (ctx.clock.now() >= call.deadline) return call.transient(call.lastCode);
  return retryLoop(ctx, call, spec, true);
}

/** Sends a read of `url` (an ETag read or an outcome check): its answer, or the failure that ended it. */
export function readBack(
  ctx: ArmContext,
  call: CallState,
  method: 'GET' | 'HEAD',
  url: string,
): Promise<Answer | ArmError> {
  return sendWithRetries(ctx, call, { method, url, role: 'read', sends: 0 });
}

/** Remembers a retryable failure for the transient result, and whether ARM may have applied a write. */
function recordFailure(call: CallState, spec: RequestSpec, attempt: Answer | ArmError, outcome: AttemptOutcome): void {
  if (attempt.kind === 'answer') {
    call.lastStatus = attempt.status;
    call.lastHeaders = attempt.headers;
    if (attempt.error) call.lastArmError = attempt.error;
    call.lastFailure = `ARM answered HTTP ${attempt.status}`;
    // A gateway error (or the resource provider's 422 timeout) may come after the write was applied.
    if (spec.role === 'operation' && (attempt.status >= 500 || isUnknownOutcome(outcome))) call.ambiguous = true;
  } else {
    call.lastFailure = attempt.error.message;
    if (spec.role === 'operation' && isUnknownOutcome(outcome)) call.ambiguous = true;
  }
  if (spec.role === 'operation') {
    call.lastSendTimedOut = attempt.kind !== 'answer' && attempt.error.code === ATTEMPT_TIMEOUT_CODE;
  }
}

/** Sleeps on the client's clock; false when the caller aborted meanwhile. */
export async function pause(ctx: ArmContext, call: CallState, ms: number): Promise<boolean> {
  try {
    await ctx.clock.sleep(ms, call.signal);
  } catch (error) {
    if (call.isAborted) return false;
    throw error;
  }
  return !call.isAborted;
}

/** A request URL without its query, for retry notices. */
export function withoutQuery(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
