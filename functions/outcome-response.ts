import type { HttpResponseInit } from '@azure/functions';
import type { Outcome } from '../shared/domain/contract/outcome';

const REJECTION_STATUS: Record<string, number> = {
  ValidationError: 400,
  OperationNotAllowed: 403,
  ScopeNotAllowed: 403,
  RequestIdConflict: 409,
};

/** The HTTP status for an outcome: ARM's own code when ARM answered, ours when it did not. */
export function httpStatusOf(outcome: Outcome): number {
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
export function outcomeResponse(outcome: Outcome): HttpResponseInit {
  const status = httpStatusOf(outcome);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (status === 429 || status === 503) {
    headers['retry-after'] = String(Math.max(1, Math.ceil((outcome.retryAfterMs ?? 1000) / 1000)));
  }
  return { status, headers, jsonBody: outcome };
}
