import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { ServicesProvider } from './composition-root';
import { invocationTelemetry } from './telemetry';

/**
 * `GET /api/backend-changes/{requestId}`: what happened to a change — its state in the ledger and, once decided,
 * its outcome (secrets redacted). 404 when the requestId is unknown (or older than the retention).
 */
export function backendChangeStatusHandler(services: ServicesProvider) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const status = await services().changes.status(request.params['requestId'] ?? '', invocationTelemetry(context));
    switch (status.kind) {
      case 'invalidRequestId':
        return json(400, {
          error: {
            code: 'ValidationError',
            message: 'requestId must be 1-128 of [A-Za-z0-9._:-].',
            target: 'requestId',
          },
        });
      case 'ledgerDisabled':
        return json(404, {
          error: { code: 'LedgerDisabled', message: 'No change ledger is configured (AzureWebJobsStorage).' },
        });
      case 'notFound':
        return json(404, {
          error: { code: 'NotFound', message: `No change with requestId '${status.requestId}' is recorded.` },
        });
      case 'found':
        return json(200, status.body);
    }
  };
}

function json(status: number, body: unknown): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json' }, jsonBody: body };
}
