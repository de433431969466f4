import { REQUEST_ID_PATTERN } from './contract/change-request';
import { backendResourceId, parseResourceId } from './backend-id';
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

function targetOf(target: unknown): string | undefined {
  if (typeof target === 'string') {
    const parsed = parseResourceId(target);
    return parsed?.kind === 'backend' ? backendResourceId(parsed.target) : undefined;
  }
  if (target === null || typeof target !== 'object') return undefined;
  const t = target as Record<string, unknown>;
  const parts = ['subscriptionId', 'resourceGroupName', 'serviceName', 'backendId'].map((k) => t[k]);
  if (!parts.every((p) => typeof p === 'string' && p.length > 0 && p.length <= 128 && !/[/?#\s]/.test(p)))
    return undefined;
  const [subscriptionId, resourceGroupName, serviceName, backendId] = parts as string[];
  const workspaceId = typeof t['workspaceId'] === 'string' ? t['workspaceId'] : undefined;
  return backendResourceId({
    subscriptionId: subscriptionId!,
    resourceGroupName: resourceGroupName!,
    serviceName: serviceName!,
    backendId: backendId!,
    workspaceId,
  });
}

/** The refusal of an input that is not JSON at all; `$` (the whole input) is the offending field. */
export function notJsonError(subject: string): ErrorBody {
  const message = `${subject} is not valid JSON.`;
  return { code: 'ValidationError', message, details: [{ code: 'InvalidJson', target: '$', message }] };
}
