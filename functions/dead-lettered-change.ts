import type { InvocationContext } from '@azure/functions';
import { isRecord } from '../shared/domain/is-record';
import { contextLogger } from './context-logger';
import { invocationTelemetry } from './telemetry';
import type { ServicesProvider } from './composition-root';
import { decodeBody, RedeliverError } from './message-body';

/**
 * Service Bus trigger on the change queue's dead-letter queue (`<queue>/$DeadLetterQueue`): publishes the `failed`
 * event of a dead-lettered change request (`DeadLettered`, with the dead-letter reason) and closes its record.
 */
export function deadLetteredChangeHandler(services: ServicesProvider) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const svc = services();
    const meta = context.triggerMetadata ?? {};
    const properties = isRecord(meta['applicationProperties']) ? meta['applicationProperties'] : {};
    const settled = await svc.changes.settleDeadLettered(
      {
        body: decodeBody(message),
        messageId: text(meta['messageId']),
        // The Functions host passes Service Bus's dead-letter fields in the application properties.
        reason: text(meta['deadLetterReason']) ?? text(properties['DeadLetterReason']),
        description: text(meta['deadLetterErrorDescription']) ?? text(properties['DeadLetterErrorDescription']),
      },
      contextLogger(context),
      invocationTelemetry(context),
    );
    if (settled.kind === 'redeliver') throw new RedeliverError(settled.reason);
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
