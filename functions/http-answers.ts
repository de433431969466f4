/** The HTTP answers of the change service's results: status codes, headers and bodies (the contract's). */
import type { HttpResponseInit } from '@azure/functions';
import type { SetOutcome } from '../shared/domain/contract/change-set';
import type { Outcome } from '../shared/domain/contract/outcome';
import type { HttpAnswer } from '../shared/app/http-intake';

/** Retry-After of a 202 when ARM gave no advice: when it is worth asking for the status. */
const DEFAULT_STATUS_RETRY_S = 5;
/** Retry-After of a 503 when the queue could not take the message. */
const QUEUE_DOWN_RETRY_S = 10;

const REJECTION_STATUS: Record<string, number> = {
  ValidationError: 400,
  OperationNotAllowed: 403,
  ScopeNotAllowed: 403,
  RequestIdConflict: 409,
};

/** The HTTP status for an outcome: ARM's own code when ARM answered, ours when it did not. */
function httpStatusOf(outcome: Outcome): number {
  if (outcome.status === 'rejected') return REJECTION_STATUS[outcome.error?.code ?? ''] ?? 400;
  if (outcome.status === 'succeeded') return outcome.dryRun === true ? 200 : (outcome.httpStatus ?? 200);
  switch (outcome.error?.code) {
    case 'Throttled':
      return 429;
    case 'Timeout':
      return 504;
    case 'UpstreamUnavailable':
      return outcome.httpStatus === 503 ? 503 : 502;
    default:
      // ARM refused: pass its 4xx through; anything else from upstream is a bad gateway.
      return outcome.httpStatus !== undefined && outcome.httpStatus >= 400 && outcome.httpStatus < 500
        ? outcome.httpStatus
        : 502;
  }
}

/** Maps an outcome to the HTTP response: the outcome is the body; transient failures carry Retry-After. */
function outcomeResponse(outcome: Outcome): HttpResponseInit {
  const status = httpStatusOf(outcome);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (status === 429 || status === 503) {
    headers['retry-after'] = String(Math.max(1, Math.ceil((outcome.retryAfterMs ?? 1000) / 1000)));
  }
  return { status, headers, jsonBody: outcome };
}

/** The response to a POSTed change or change set. */
export function httpAnswer(answer: HttpAnswer): HttpResponseInit {
  switch (answer.kind) {
    case 'outcome':
      return outcomeResponse(answer.outcome);
    case 'setOutcome':
      return setResponse(answer.outcome);
    case 'accepted':
      return acceptedResponse(answer.requestId, answer.set, answer.retryAfterMs);
    case 'queueUnavailable':
      return {
        status: 503,
        headers: { 'content-type': 'application/json', 'retry-after': String(QUEUE_DOWN_RETRY_S) },
        jsonBody: {
          error: {
            code: 'QueueUnavailable',
            message: 'The change-request queue is unavailable right now; nothing was accepted. Retry later.',
          },
        },
      };
    case 'busy':
      return {
        status: 409,
        headers: { 'content-type': 'application/json', 'retry-after': '5' },
        jsonBody: {
          requestId: answer.requestId,
          error: {
            code: 'RequestInProgress',
            message: 'This requestId is being applied right now; ask again shortly.',
          },
        },
      };
  }
}

/**
 * 202 Accepted with the status URL, as ARM answers a long-running operation. A change's carries Retry-After
 * (ARM's advice when a transient change was handed over); a set's has none.
 */
function acceptedResponse(requestId: string, set: boolean, retryAfterMs: number | undefined): HttpResponseInit {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    location: `/api/backend-changes/${encodeURIComponent(requestId)}`,
  };
  if (!set) {
    const retryAfter =
      retryAfterMs === undefined ? DEFAULT_STATUS_RETRY_S : Math.max(1, Math.ceil(retryAfterMs / 1000));
    headers['retry-after'] = String(retryAfter);
  }
  return { status: 202, headers, jsonBody: { requestId, status: 'accepted' } };
}

/** The HTTP answer of a set outcome: the outcome is the body; transient failures carry Retry-After. */
function setResponse(outcome: SetOutcome): HttpResponseInit {
  const status = setHttpStatus(outcome);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (status === 429 || status === 503) {
    headers['retry-after'] = String(Math.max(1, Math.ceil((outcome.retryAfterMs ?? 1000) / 1000)));
  }
  return { status, headers, jsonBody: outcome };
}

/** 200 when every change succeeded; otherwise the status the failing change (or the refusal) would get alone. */
export function setHttpStatus(outcome: SetOutcome): number {
  if (outcome.status === 'succeeded') return 200;
  const failing = outcome.order
    .map((index) => outcome.items.find((item) => item.index === index))
    .find((item) => item !== undefined && (item.status === 'failed' || item.status === 'rejected'));
  if (failing !== undefined && failing.status !== 'skipped')
    return httpStatusOf({ ...failing, status: failing.status });
  const summary: Outcome = {
    requestId: outcome.requestId,
    status: outcome.status === 'rejected' ? 'rejected' : 'failed',
    attempts: 0,
    durationMs: outcome.durationMs,
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
  };
  return httpStatusOf(summary);
}
