import { REQUEST_ID_PATTERN } from './contract/change-request';
import { backendResourceId } from './backend-id';
import { BackendTargetSchema } from './contract/safe-segment';
import type { ErrorBody } from './contract/error-response';
import { OperationSchema, type Outcome } from './contract/outcome';
import { capErrorBody } from './contract/error-cap';
import { redactSecrets } from './redact';

/** The requestId a raw input asks for, if it holds a valid one. */
export function requestIdOf(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const id = (raw as Record<string, unknown>)['requestId'];
  return typeof id === 'string' && REQUEST_ID_PATTERN.test(id) ? id : undefined;
}

/**
 * The outcome of a request refused before anything was sent to ARM (invalid input, scope, policy).
 * It reports what can be read from the raw input (requestId, operation, target) so the caller can correlate it.
 */
export function rejectedOutcome(raw: unknown, error: ErrorBody, fallbackRequestId: string, durationMs = 0): Outcome {
  const fields = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const outcome: Outcome = {
    requestId: requestIdOf(raw) ?? fallbackRequestId,
    status: 'rejected',
    attempts: 0,
    durationMs,
    error: capErrorBody(redactSecrets(error)),
  };
  const operation = OperationSchema.safeParse(fields['operation']);
  if (operation.success) outcome.operation = operation.data;
  const target = targetOf(fields['target']);
  if (target !== undefined) outcome.target = target;
  return outcome;
}

/** The backend ARM id of a raw target, when it is a valid one (the contract's own reading of targets). */
function targetOf(target: unknown): string | undefined {
  const parsed = BackendTargetSchema.safeParse(target);
  return parsed.success ? backendResourceId(parsed.data) : undefined;
}

/** The refusal of an input that is not JSON at all; `$` (the whole input) is the offending field. */
export function notJsonError(subject: string): ErrorBody {
  const message = `${subject} is not valid JSON.`;
  return { code: 'ValidationError', message, details: [{ code: 'InvalidJson', target: '$', message }] };
}
