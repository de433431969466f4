import { createHash } from 'node:crypto';
import { backendResourceId, type BackendTarget } from './backend-id';

/**
 * The Service Bus session id of a backend's changes, for the session-enabled change-request queue. Service Bus caps
 * session ids at 128 characters and ARM ids are longer, so it is the SHA-256 (hex) of the backend's ARM id in lower
 * case: stable, the same from every producer, and one session per backend.
 */
export function backendSessionId(target: BackendTarget): string {
  return createHash('sha256').update(backendResourceId(target).toLowerCase()).digest('hex');
}
