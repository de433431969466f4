import { REQUEST_ID_PATTERN } from '../shared/domain/contract/change-request';
import { CHANGE_SET_OPERATION, ITEM_REQUEST_ID_PATTERN } from '../shared/domain/contract/change-set';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { redactSecrets } from '../shared/domain/redact';
import { changeSetStatus } from './change-set-status';
import type { ServicesProvider } from './composition-root';

/**
 * `GET /api/backend-changes/{requestId}`: what happened to a change — its state in the ledger and, once decided,
 * its outcome (secrets redacted). 404 when the requestId is unknown (or older than the retention).
 */
export function backendChangeStatusHandler(services: ServicesProvider) {
  return async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
    const svc = services();
    const requestId = request.params['requestId'] ?? '';
    if (!REQUEST_ID_PATTERN.test(requestId) && !ITEM_REQUEST_ID_PATTERN.test(requestId)) {
      return json(400, {
        error: { code: 'ValidationError', message: 'requestId must be 1-128 of [A-Za-z0-9._:-].', target: 'requestId' },
      });
    }
    if (svc.ledger === undefined) {
      return json(404, {
        error: { code: 'LedgerDisabled', message: 'No change ledger is configured (AzureWebJobsStorage).' },
      });
    }
    const record = await svc.ledger.get(requestId);
    if (record === undefined) {
      return json(404, {
        error: { code: 'NotFound', message: `No change with requestId '${requestId}' is recorded.` },
      });
    }
    if (record.operation === CHANGE_SET_OPERATION) return json(200, await changeSetStatus(svc.ledger, record));
    // The fingerprint and version are internal; never show them.
    const body: Record<string, unknown> = {
      requestId: record.requestId,
      state: record.state,
      operation: record.operation,
      target: record.target,
      attempts: record.attempts,
      deliveries: record.deliveries,
      published: record.published,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
    if (record.outcome !== undefined) body['outcome'] = redactSecrets(record.outcome);
    return json(200, body);
  };
}

function json(status: number, body: unknown): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json' }, jsonBody: body };
}
