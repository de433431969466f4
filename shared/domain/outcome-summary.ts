import type { SetOutcome } from './contract/change-set';
import type { Outcome } from './contract/outcome';

/** The fields of an outcome worth a log line (never the backend body). */
export function outcomeSummary(outcome: Outcome): Record<string, unknown> {
  return {
    requestId: outcome.requestId,
    operation: outcome.operation,
    target: outcome.target,
    status: outcome.status,
    httpStatus: outcome.httpStatus,
    attempts: outcome.attempts,
    durationMs: outcome.durationMs,
    error: outcome.error?.code,
  };
}

/** The fields of a change set's outcome worth a log line. */
export function setOutcomeSummary(outcome: SetOutcome): Record<string, unknown> {
  return { requestId: outcome.requestId, status: outcome.status, changes: outcome.items.length };
}
