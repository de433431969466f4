/**
 * The attempt step: one send through the pipeline, bounded by the per-attempt timeout and the caller's signal, and
 * ended as a value: ARM's decoded answer, or an {@link ArmError} saying how the send failed (timed out, aborted,
 * or what the HTTP client threw). Nothing thrown by the pipeline gets past this step.
 */
import type { PipelineRequest } from '@azure/core-rest-pipeline';
import type { ArmError } from '../../app/arm-ports';
import type { CallState } from './arm-call';
import { decodeAnswer, encodeRequest, type Answer, type RequestSpec } from './arm-codec';
import type { ArmContext } from './arm-context';
import { errorCodeOf, sendErrorOf } from './arm-error';
import { REQUEST_TIMEOUT_CODE } from './node-https-client';
import { ATTEMPT_TIMEOUT_CODE } from './retry-strategy';

/** An attempt gets at least this long even when the deadline is nearer: a request needs time to be answered. */
export const MIN_ATTEMPT_TIMEOUT_MS = 1_000;

/** The timeout of the next attempt: the per-attempt timeout, or what is left of the call, but at least a second. */
export function attemptTimeoutMs(ctx: ArmContext, call: CallState): number {
  const remaining = call.deadline - ctx.clock.now();
  return Math.min(ctx.perAttemptTimeoutMs, Math.max(remaining, MIN_ATTEMPT_TIMEOUT_MS));
}

/** One send of `spec`, answered or failed within `timeoutMs`. */
export async function sendAttempt(
  ctx: ArmContext,
  call: CallState,
  spec: RequestSpec,
  timeoutMs: number,
): Promise<Answer | ArmError> {
  const request = encodeRequest(spec, call.correlationId);
  if (!ctx.clientBoundsAttempts) return sendGuarded(ctx, call, request, timeoutMs);
  // Our own HTTP client bounds the exchange by `request.timeout` and ends it on `request.abortSignal`.
  request.timeout = timeoutMs;
  if (call.signal !== undefined) request.abortSignal = call.signal;
  try {
    return decodeAnswer(await ctx.pipeline.sendRequest(ctx.httpClient, request), call.correlationId, ctx.clock);
  } catch (error) {
    return failedSend(call, error, errorCodeOf(error) === REQUEST_TIMEOUT_CODE, timeoutMs);
  }
}

/** A send through a client we did not write: our own timer and abort, raced against its answer. */
async function sendGuarded(
  ctx: ArmContext,
  call: CallState,
  request: PipelineRequest,
  timeoutMs: number,
): Promise<Answer | ArmError> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onCallerAbort = (): void => controller.abort();
  call.signal?.addEventListener('abort', onCallerAbort, { once: true });
  request.abortSignal = controller.signal;
  try {
    const response = await untilAborted(ctx.pipeline.sendRequest(ctx.httpClient, request), controller.signal);
    return decodeAnswer(response, call.correlationId, ctx.clock);
  } catch (error) {
    return failedSend(call, error, timedOut, timeoutMs);
  } finally {
    clearTimeout(timer);
    call.signal?.removeEventListener('abort', onCallerAbort);
  }
}

/** Rejects when `signal` aborts, so a send ends promptly even if the HTTP client is slow to notice. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** What a send that ended without an answer was: the caller's abort, our timeout, or a network failure. */
function failedSend(call: CallState, thrown: unknown, timedOut: boolean, timeoutMs: number): ArmError {
  if (call.isAborted) return call.aborted();
  if (timedOut) {
    return call.sendFailed('Timeout', { code: ATTEMPT_TIMEOUT_CODE, message: `no answer within ${timeoutMs} ms` });
  }
  return call.sendFailed('UpstreamUnavailable', sendErrorOf(thrown));
}
