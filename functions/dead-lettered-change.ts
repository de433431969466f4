import type { InvocationContext } from '@azure/functions';
import { settleDeadLettered } from '../shared/app/dead-letter';
import { isRecord } from '../shared/domain/is-record';
import { contextLogger } from './context-logger';
import { RedeliverError } from './process-backend-change';
import type { ServicesProvider } from './composition-root';
import { decodeBody } from './message-body';

/**
 * Service Bus trigger on the change queue's dead-letter queue (`<queue>/$DeadLetterQueue`): publishes the `failed`
 * event of a dead-lettered change request (`DeadLettered`, with the dead-letter reason) and closes its record.
 */
export function deadLetteredChangeHandler(services: ServicesProvider) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const svc = services();
    const logger = contextLogger(context);
    const meta = context.triggerMetadata ?? {};
    const properties = isRecord(meta['applicationProperties']) ? meta['applicationProperties'] : {};
    const result = await settleDeadLettered(
      {
        body: decodeBody(message),
        messageId: text(meta['messageId']),
        // The Functions host passes Service Bus's dead-letter fields in the application properties.
        reason: text(meta['deadLetterReason']) ?? text(properties['DeadLetterReason']),
        description: text(meta['deadLetterErrorDescription']) ?? text(properties['DeadLetterErrorDescription']),
      },
      { ledger: svc.ledger, publisher: svc.publisher, clock: svc.clock, logger },
    );
    if (result.kind === 'busy') {
      throw new RedeliverError(`Change ${result.requestId} is still held by a delivery; trying again later.`);
    }
    logger.info('Dead-lettered change request settled', {
      requestId: result.outcome?.requestId,
      published: result.outcome !== undefined,
    });
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
