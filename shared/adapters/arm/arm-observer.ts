/**
 * What the ARM client reports about its sends, for tracing and metrics (never bodies, headers or URLs with
 * queries). Implemented by the telemetry adapter; the client works the same without one.
 */
export interface ArmObserver {
  /** A send is starting; the handle describes how it ended. */
  attemptStarted(method: string, role: 'operation' | 'read'): ArmAttemptHandle;
  /** A write waited this long for the write limiter (the subscription's ARM writes). */
  limiterWaited(ms: number): void;
}

/** What one send became. */
export interface ArmAttemptAnswer {
  /** ARM's HTTP status; undefined when no answer came (network failure, timeout). */
  status?: number | undefined;
  /** `x-ms-request-id` of the answer. */
  armRequestId?: string | undefined;
  /** ARM's error code, or the network failure's code. */
  errorCode?: string | undefined;
}

export interface ArmAttemptHandle {
  /**
   * The send ended. The attempt is closed at the end of the current job unless {@link retrying} is called first,
   * synchronously: the retry decision is taken right after the answer, without an await in between.
   */
  answered(answer: ArmAttemptAnswer): void;
  /** The send will be retried after `waitMs`, for `reason` (Throttled, UpstreamUnavailable, …). */
  retrying(reason: string, waitMs: number): void;
}
