/**
 * One client call (an operation with its retries, ETag reads and outcome checks): its correlation id, deadline,
 * counters and last failure, and the results it ends with. Every result a call returns is built here.
 */
import type { ErrorBody } from '../../domain/contract/error-response';
import type {
  ArmClientLogger,
  ArmError,
  ArmHeaders,
  ArmOk,
  ArmResult,
  TransientCode,
  ArmObserver,
} from '../../app/arm-ports';
import { refusalBodyOf } from './arm-error';
import { isSuccess, type Answer } from './arm-codec';

type TransientError = Extract<ArmError, { kind: 'transient' }>;

/** The code of the error body an aborted call reports. */
const REQUEST_ABORTED = 'RequestAborted';

export class CallState {
  attempts = 0;
  reads = 0;
  /** Set when an operation send may have been applied by ARM without us seeing the answer. */
  ambiguous = false;
  /** Set when the last operation send was abandoned by our per-attempt timeout (ARM may still be working on it). */
  lastSendTimedOut = false;
  lastStatus: number | undefined;
  lastArmError: ErrorBody | undefined;
  lastFailure = 'no attempt was made';
  lastCode: TransientCode = 'Timeout';
  lastHeaders: ArmHeaders;

  constructor(
    readonly correlationId: string,
    readonly subscriptionId: string,
    readonly deadline: number,
    readonly signal: AbortSignal | undefined,
    readonly logger: ArmClientLogger | undefined,
    /** Told about this call's sends and write-limiter waits (CallOptions.observer: the calling change's span). */
    readonly observer: ArmObserver | undefined,
  ) {
    this.lastHeaders = { correlationRequestId: correlationId };
  }

  /** The call's result for a final answer: a success on 2xx, else ARM's refusal. */
  resultOf<T>(answer: Answer, body: T): ArmResult<T> {
    return isSuccess(answer.status) ? this.ok(answer.status, answer.headers, body) : this.refused(answer);
  }

  ok<T>(status: number, headers: ArmHeaders, body: T): ArmOk<T> {
    return { kind: 'ok', status, headers, body, attempts: this.attempts, reads: this.reads };
  }

  /** ARM refused: its status and error body (one synthesised from the status when it sent none). */
  refused(answer: Answer, error: ErrorBody | undefined = answer.error): ArmError {
    return {
      kind: 'armError',
      status: answer.status,
      headers: answer.headers,
      error: refusalBodyOf(answer.status, error),
      attempts: this.attempts,
      reads: this.reads,
    };
  }

  /** Retrying may cure it, later: ARM's last error when it sent one, else what the last failure was. */
  transient(code: TransientCode, retryAfterMs?: number): TransientError {
    const result: TransientError = {
      kind: 'transient',
      code,
      headers: this.lastHeaders,
      error: this.lastArmError ?? { code, message: `ARM call did not succeed: ${this.lastFailure}.` },
      attempts: this.attempts,
      reads: this.reads,
    };
    if (this.lastStatus !== undefined) result.status = this.lastStatus;
    if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
    return result;
  }

  /** A write that may have been applied and is not sent again. */
  unknownOutcome(): TransientError {
    const result = this.transient('UpstreamUnavailable');
    result.outcomeUnknown = true;
    return result;
  }

  aborted(): TransientError {
    const result = this.transient('Timeout');
    result.error = { code: REQUEST_ABORTED, message: 'The call was aborted by its caller.' };
    return result;
  }

  /** The failure of one send that ended without an answer (`error` says how); the loop decides what it means. */
  sendFailed(code: TransientCode, error: ErrorBody): TransientError {
    return { kind: 'transient', code, headers: this.lastHeaders, error, attempts: this.attempts, reads: this.reads };
  }

  /** True when the caller aborted the call. */
  get isAborted(): boolean {
    return this.signal?.aborted === true;
  }
}

/** True when a send's failure was the caller's abort. */
export function wasAborted(failure: ArmError): boolean {
  return failure.error.code === REQUEST_ABORTED;
}
