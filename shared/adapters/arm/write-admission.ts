/**
 * Write admission, the step before every send: a write (PUT/PATCH/POST/DELETE) waits for the process's write
 * limiter, and every answer tells the limiter what ARM said about the subscription's writes bucket. Reads are never
 * held back. Without a limiter this step costs nothing (not even an await).
 */
import type { ArmError } from '../../app/arm-ports';
import type { CallState } from './arm-call';
import type { Answer, RequestSpec } from './arm-codec';
import type { ArmContext } from './arm-context';
import { remainingWritesOf, writeObservationOf, type WriteLimiter, type WritePermit } from './write-limiter';

/** The methods ARM counts against the subscription's writes bucket. */
const WRITE_METHODS: ReadonlySet<string> = new Set(['PUT', 'PATCH', 'POST', 'DELETE']);

/** True when a send of `spec` must wait for the write limiter (a write, with a limiter). */
export function needsAdmission(limiter: WriteLimiter | undefined, spec: RequestSpec): limiter is WriteLimiter {
  return limiter !== undefined && WRITE_METHODS.has(spec.method);
}

/**
 * Waits for the write limiter before a write send: a permit, or the failure that ends the call (aborted, or no send
 * possible before the deadline). The wait is reported to the observer.
 */
export async function admitWrite(
  ctx: ArmContext,
  limiter: WriteLimiter,
  call: CallState,
): Promise<WritePermit | ArmError> {
  const waitFrom = call.observer === undefined ? 0 : ctx.clock.now();
  const wait = await limiter.acquire(call.subscriptionId, { signal: call.signal, deadline: call.deadline });
  call.observer?.limiterWaited(ctx.clock.now() - waitFrom);
  if (wait.kind === 'granted') return wait.permit;
  if (wait.kind === 'aborted') return call.aborted();
  call.lastFailure = "the write limiter (pacing the subscription's ARM writes) allows no send before the deadline";
  return call.transient('Throttled', wait.retryAfterMs);
}

/** Settles a write's permit with what its answer said (nothing when there was no answer). Exactly once per permit. */
export function settleAdmission(permit: WritePermit, spec: RequestSpec, answer: Answer | undefined): void {
  if (answer === undefined) permit.settle(undefined);
  else permit.settle(writeObservationOf(spec.method, answer.status, answer.raw, answer.outcome.retryAfterMs));
}

/** A read's answer may still carry the writes figure: news for the limiter, though reads are never gated. */
export function noteReadAnswer(ctx: ArmContext, call: CallState, spec: RequestSpec, answer: Answer): void {
  if (ctx.writeLimiter === undefined || WRITE_METHODS.has(spec.method)) return;
  const remaining = remainingWritesOf(answer.raw);
  if (remaining !== undefined) ctx.writeLimiter.noteRemaining(call.subscriptionId, remaining);
}
