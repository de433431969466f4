import { randomUUID } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import { requestIdOfMessage } from '../shared/adapters/service-bus/message-request-id';
import { contextLogger } from './context-logger';
import { invocationTelemetry } from './telemetry';
import type { ServicesProvider } from './composition-root';
import { decodeBody, metadataInt, RedeliverError } from './message-body';

/**
 * Service Bus queue trigger on the change-request queue: one delivery into the change service. A change to
 * deliver again (transient failure with deliveries left, or held by another delivery) throws, so the message is
 * abandoned; a publish or ledger failure throws too, so the message is not completed and nothing is lost.
 */
export function processBackendChangeHandler(services: ServicesProvider) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const svc = services();
    const meta = context.triggerMetadata ?? {};
    const messageId =
      typeof meta['messageId'] === 'string' && meta['messageId'] !== '' ? meta['messageId'] : randomUUID();
    // A messageId that is no valid requestId still names the request, by an id derived from it (GET finds it).
    const { requestId: fallbackRequestId, derivedFrom } = requestIdOfMessage(messageId);
    const delivered = await svc.changes.deliver(
      {
        body: decodeBody(message),
        fallbackRequestId,
        originalMessageId: derivedFrom,
        correlationId: typeof meta['correlationId'] === 'string' ? meta['correlationId'] : undefined,
        deliveryCount: metadataInt(meta['deliveryCount']),
      },
      contextLogger(context),
      invocationTelemetry(context),
    );
    if (delivered.kind === 'redeliver') throw new RedeliverError(delivered.reason);
  };
}
