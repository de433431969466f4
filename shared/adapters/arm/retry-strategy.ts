/**
 * The retry decision for one ARM operation, as pure functions: what an attempt's outcome means, how long to wait,
 * and whether the wait still fits the call's deadline. The loop that sends, sleeps and re-reads lives in the client;
 * keeping the rules here lets them be tested without time or network.
 */
import type { TransientCode } from '../../app/arm-ports';

/** What one attempt produced: an HTTP answer, or a failure before a complete answer arrived. */
export type AttemptOutcome =
  | {
      kind: 'status';
      status: number;
      /** `error.code` of ARM's ErrorResponse body, when there was one. */
      errorCode?: string | undefined;
      /** ARM's advice from the Retry-After family of headers, already in ms. */
      retryAfterMs?: number | undefined;
    }
  | {
      kind: 'network';
      /** Node's system error code (`ECONNRESET`, …), `AttemptTimeout` for our own per-attempt timeout. */
      errorCode: string;
    };

/** The error code our per-attempt timeout reports as a network outcome. */
export const ATTEMPT_TIMEOUT_CODE = 'AttemptTimeout';

/** Tuning for backoff. Retry-After advice from ARM is never capped: waiting less than asked only earns a new 429. */
export interface RetrySettings {
  /** First backoff ceiling in ms (doubles per retry). */
  baseDelayMs: number;
  /** Largest backoff ceiling in ms. */
  maxBackoffMs: number;
  /** Sends of one operation at most, a bound that holds even when jitter keeps drawing tiny delays. */
  maxAttempts: number;
}

/** Defaults from the issue: base 500 ms, cap 30 s. */
export const DEFAULT_RETRY_SETTINGS: RetrySettings = { baseDelayMs: 500, maxBackoffMs: 30_000, maxAttempts: 64 };

const RETRYABLE_STATUS: ReadonlyMap<number, TransientCode> = new Map<number, TransientCode>([
  [408, 'Timeout'],
  [429, 'Throttled'],
  [500, 'UpstreamUnavailable'],
  [502, 'UpstreamUnavailable'],
  [503, 'UpstreamUnavailable'],
  [504, 'UpstreamUnavailable'],
]);

/** Connection failures worth another try. TLS and configuration errors are not: retrying cannot cure them. */
const RETRYABLE_NETWORK: ReadonlyMap<string, TransientCode> = new Map<string, TransientCode>([
  [ATTEMPT_TIMEOUT_CODE, 'Timeout'],
  ['ETIMEDOUT', 'Timeout'],
  ['ESOCKETTIMEDOUT', 'Timeout'],
  ['ECONNRESET', 'UpstreamUnavailable'], // also Node's code for "socket hang up"
  ['ECONNREFUSED', 'UpstreamUnavailable'],
  ['ECONNABORTED', 'UpstreamUnavailable'],
  ['EPIPE', 'UpstreamUnavailable'],
  ['EAI_AGAIN', 'UpstreamUnavailable'],
  ['ENETUNREACH', 'UpstreamUnavailable'],
  ['EHOSTUNREACH', 'UpstreamUnavailable'],
]);

/** Failures that happen before any byte of the request can have reached ARM. */
const NEVER_SENT_NETWORK = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENOTFOUND']);

/**
 * The transient code an outcome earns when it is worth retrying, or undefined when it is final.
 * 409 is retried only for `PessimisticConcurrencyConflict` (another operation on the entity is in progress and
 * clears by itself); every other 4xx is the caller's to fix.
 */
export function transientCodeOf(outcome: AttemptOutcome): TransientCode | undefined {
  if (outcome.kind === 'network') return RETRYABLE_NETWORK.get(outcome.errorCode);
  if (outcome.status === 409) {
    return outcome.errorCode === 'PessimisticConcurrencyConflict' ? 'UpstreamUnavailable' : undefined;
  }
  if (isResourceProviderTimeout(outcome)) return 'UpstreamUnavailable';
  return RETRYABLE_STATUS.get(outcome.status);
}

/**
 * The API Management resource provider's 422 for a failed call to its management API (recorded: `Timeout` after
 * ~109 s, and `ManagementApiRequestFailed`; a retry succeeded). Not a refusal of the request: the write may or may
 * not have been applied.
 */
const UNKNOWN_OUTCOME_422 = new Set(['Timeout', 'ManagementApiRequestFailed']);

function isResourceProviderTimeout(outcome: Extract<AttemptOutcome, { kind: 'status' }>): boolean {
  if (outcome.status !== 422) return false;
  // A HEAD's 422 has no body to tell which: taken as the timeout (a read is safely retried, a write re-read first).
  return outcome.errorCode === undefined || UNKNOWN_OUTCOME_422.has(outcome.errorCode);
}

/**
 * True when a write's effect is unknown after this outcome: the connection failed or timed out after the request
 * may have been sent, or the resource provider answered its 422 timeout, so ARM may have applied it. Any other HTTP
 * answer is a known outcome.
 */
export function isUnknownOutcome(outcome: AttemptOutcome): boolean {
  if (outcome.kind === 'status') return isResourceProviderTimeout(outcome);
  return !NEVER_SENT_NETWORK.has(outcome.errorCode);
}

/**
 * Exponential backoff with full jitter: a uniform draw from [0, min(cap, base * 2^retryIndex)].
 *
 * @param retryIndex - 0 for the wait after the first failed attempt, 1 after the second, …
 * @param random - a source in [0, 1), e.g. Math.random.
 */
export function backoffDelayMs(
  retryIndex: number,
  random: () => number,
  settings: Pick<RetrySettings, 'baseDelayMs' | 'maxBackoffMs'>,
): number {
  const ceiling = Math.min(settings.maxBackoffMs, settings.baseDelayMs * 2 ** Math.min(retryIndex, 32));
  const draw = Math.min(Math.max(random(), 0), 1);
  return Math.min(ceiling, Math.floor(draw * (ceiling + 1)));
}

/** Everything the decision depends on. */
export interface RetryInput {
  outcome: AttemptOutcome;
  /** Sends of this operation made so far, the failed one included (1 after the first attempt). */
  attempts: number;
  /** Now and the call's absolute deadline, epoch ms. */
  now: number;
  deadline: number;
  random: () => number;
  settings: RetrySettings;
}

/**
 * - `retry`: wait `delayMs`, then send again;
 * - `giveUp`: retryable, but the wait would pass the deadline (or the attempt bound is reached) — a transient failure,
 *   with ARM's advice in `retryAfterMs` when it gave one;
 * - `final`: not retryable.
 */
export type RetryDecision =
  | { action: 'retry'; code: TransientCode; delayMs: number }
  | { action: 'giveUp'; code: TransientCode; retryAfterMs?: number }
  | { action: 'final' };

/**
 * Decides what to do after a failed attempt. ARM's Retry-After advice is used as-is (never sooner); without it the
 * delay is jittered exponential backoff. The call gives up rather than sleep past its deadline.
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { outcome, attempts, now, deadline, random, settings } = input;
  const code = transientCodeOf(outcome);
  if (code === undefined) return { action: 'final' };
  const advice = outcome.kind === 'status' ? outcome.retryAfterMs : undefined;
  const delayMs = advice ?? backoffDelayMs(attempts - 1, random, settings);
  if (attempts >= settings.maxAttempts || now + delayMs > deadline) {
    return advice === undefined ? { action: 'giveUp', code } : { action: 'giveUp', code, retryAfterMs: advice };
  }
  return { action: 'retry', code, delayMs };
}

/**
 * Backoff base for re-applying an automatic-ETag PATCH after 412. Lower than the error backoff: the conflict is
 * cured by re-reading the ETag, and the jitter only has to spread concurrent writers apart.
 */
export const PRECONDITION_BASE_DELAY_MS = 100;

/** What to do after a 412 on a PATCH whose ETag the client read itself. */
export type ConcurrencyDecision = { action: 'retry'; delayMs: number } | { action: 'giveUp' };

/**
 * Decides whether to re-read and re-apply after losing an optimistic-concurrency race (412).
 *
 * @param rounds - 412s seen so far in this call (1 after the first).
 */
export function decideConcurrencyRetry(input: {
  rounds: number;
  now: number;
  deadline: number;
  random: () => number;
  settings: RetrySettings;
}): ConcurrencyDecision {
  const { rounds, now, deadline, random, settings } = input;
  const delayMs = backoffDelayMs(rounds - 1, random, {
    baseDelayMs: PRECONDITION_BASE_DELAY_MS,
    maxBackoffMs: settings.maxBackoffMs,
  });
  if (rounds >= settings.maxAttempts || now + delayMs > deadline) return { action: 'giveUp' };
  return { action: 'retry', delayMs };
}
