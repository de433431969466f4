/**
 * The time budget, in one place: how long each stage may take and how the limits relate. Everything below must
 * end within host.json's `functionTimeout` (5 minutes), or the host kills the invocation mid-change:
 *
 * ```
 *   ARM attempt (ARM_ATTEMPT_TIMEOUT_SECONDS, 30 s)  ≤  change deadline (CHANGE_DEADLINE_SECONDS, 200 s, ≤ 230 s)
 *   HTTP budget (HTTP_SYNC_SECONDS, 25 s): a synchronous change's deadline is min(change deadline, HTTP budget)
 *   ledger lease  = change deadline + 60 s        (a live delivery is never overtaken by a redelivery)
 *   queue invocation ≤ change deadline + 60 s      (its pause before a redelivery fits in the second half)
 *   busy wait ≤ min(change deadline, 60 s)         (a duplicate waiting for the first delivery's outcome)
 *   change deadline (≤ 230 s) + busy wait share (≤ 60 s) < functionTimeout (300 s)
 *   cleanup timer: finalising ≤ 120 s, each ARM read ≤ 30 s (the timer has the same 5 minutes)
 * ```
 * The settings-derived parts are computed here and handed to the change service. Fixed waits inside the use cases
 * obey the same bounds and say so where they are defined: the busy wait (shared/app/wait-for-decision.ts), the
 * sweep's 120 s (finalise-stalled.ts), the dead-letter wait for a live lease (dead-letter.ts, ≤ 60 s), and the
 * breaker event's 10-minute lease, longer than any invocation (breaker-event.ts).
 */
import type { Config } from './settings';

/** host.json's functionTimeout: the hard end of every invocation. */
export const FUNCTION_TIMEOUT_MS = 5 * 60_000;
/** What a ledger claim holds beyond the change deadline: a live delivery must never be overtaken. */
const LEASE_MARGIN_MS = 60_000;
/** What a queue invocation may take beyond the change deadline (the ledger, publishing, the redelivery pause). */
const INVOCATION_MARGIN_MS = 60_000;
/** How long an HTTP call waits for the queue to take a message before answering 503 (the broker may be down). */
const ENQUEUE_WAIT_MS = 10_000;
/** The budget of one ARM read when the cleanup timer decides a stalled change. */
const SWEEP_READ_TIMEOUT_MS = 30_000;

export interface TimeBudget {
  /** One ARM attempt (ARM_ATTEMPT_TIMEOUT_SECONDS). */
  attemptTimeoutMs: number;
  /** One change, retries included (CHANGE_DEADLINE_SECONDS). */
  changeDeadlineMs: number;
  /** A synchronous HTTP change (HTTP_SYNC_SECONDS); still transient then, it is handed to the queue. */
  httpSyncMs: number;
  /** A ledger claim's lease. */
  leaseMs: number;
  /** A queue invocation's time beyond the change deadline. */
  invocationMarginMs: number;
  enqueueWaitMs: number;
  sweepReadTimeoutMs: number;
}

/** The time budget of a configuration. */
export function timeBudget(config: Pick<Config, 'attemptTimeoutMs' | 'deadlineMs' | 'httpSyncMs'>): TimeBudget {
  return {
    attemptTimeoutMs: config.attemptTimeoutMs,
    changeDeadlineMs: config.deadlineMs,
    httpSyncMs: config.httpSyncMs,
    leaseMs: config.deadlineMs + LEASE_MARGIN_MS,
    invocationMarginMs: INVOCATION_MARGIN_MS,
    enqueueWaitMs: ENQUEUE_WAIT_MS,
    sweepReadTimeoutMs: SWEEP_READ_TIMEOUT_MS,
  };
}
