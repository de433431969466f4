import { createHash } from 'node:crypto';
import { REQUEST_ID_PATTERN } from '../../domain/contract/change-request';

/**
 * The requestId of a queue message whose body names none: its messageId when that is a valid requestId; otherwise
 * (Service Bus allows up to 128 characters of anything, e.g. `/`, spaces or an URL) one derived from it, `msg-` and
 * 40 hex digits of its SHA-256, so the request is still recorded and `GET /api/backend-changes/{requestId}` finds
 * it. The original is kept in the outcome (`messageId`).
 */
export function requestIdOfMessage(messageId: string): { requestId: string; derivedFrom?: string } {
  if (REQUEST_ID_PATTERN.test(messageId)) return { requestId: messageId };
  const hash = createHash('sha256').update(messageId, 'utf8').digest('hex').slice(0, 40);
  return { requestId: `msg-${hash}`, derivedFrom: messageId };
}
