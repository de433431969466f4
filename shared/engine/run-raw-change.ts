import { parseChangeRequest, type ChangeRequest } from '../contract/change-request';
import type { Outcome } from '../contract/outcome';
import { executeChange, type EngineDeps } from './execute-change';
import { rejectedOutcome } from './rejection';

/**
 * Validates raw input (already JSON-parsed) and executes it: the one path every trigger takes.
 * `fallbackRequestId` is used when the input carries no valid requestId (a queue message id, a new UUID).
 */
export async function runRawChange(
  raw: unknown,
  deps: EngineDeps,
  fallbackRequestId: string,
): Promise<{ outcome: Outcome; request?: ChangeRequest }> {
  const parsed = parseChangeRequest(raw, { defaultApiVersion: deps.settings.apiVersion });
  if (!parsed.ok) return { outcome: rejectedOutcome(raw, parsed.error, fallbackRequestId) };
  const request: ChangeRequest = { ...parsed.request, requestId: parsed.request.requestId ?? fallbackRequestId };
  return { outcome: await executeChange(request, deps), request };
}
