import { randomUUID } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import { processChange } from '../shared/engine/process-change';
import { notJsonError } from '../shared/engine/rejection';
import { summary } from './backend-changes';
import { contextLogger } from './context-logger';
import { processDeps, type ServicesProvider } from './services';

/** Thrown so Service Bus redelivers the message (abandon): the change failed transiently or is being applied. */
export class RedeliverError extends Error {
  override readonly name = 'RedeliverError';
}

const NOT_JSON = notJsonError('The message body');

/**
 * Service Bus queue trigger on the change-request queue. Settlement: invalid → `rejected` event, return;
 * ARM refused → `failed` event, return; transient failure → throw for redelivery, and publish `failed` only on the
 * last delivery. A duplicate delivery is answered from the ledger (its event re-published only if that had not
 * completed). A publish or ledger failure throws too, so the message is not completed and nothing is lost.
 */
export function processBackendChangeHandler(services: ServicesProvider) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const svc = services();
    const logger = contextLogger(context);
    const meta = context.triggerMetadata ?? {};
    const messageId =
      typeof meta['messageId'] === 'string' && meta['messageId'] !== '' ? meta['messageId'] : randomUUID();
    const correlationId = typeof meta['correlationId'] === 'string' ? meta['correlationId'] : undefined;
    const deliveryCount = typeof meta['deliveryCount'] === 'number' ? meta['deliveryCount'] : 1;
    const last = deliveryCount >= svc.config.maxDeliveryCount;

    const raw = decodeBody(message);
    const result = await processChange(
      raw,
      { fallbackRequestId: messageId, correlationId, onTransient: last ? 'final' : 'redeliver' },
      processDeps(svc, logger),
      raw === undefined ? NOT_JSON : undefined,
    );
    switch (result.kind) {
      case 'outcome':
        logger.info('Change request finished', {
          ...summary(result.outcome),
          deliveryCount,
          duplicate: result.duplicate,
        });
        return;
      case 'redeliver':
        throw new RedeliverError(
          `Change ${result.outcome.requestId} failed transiently (${result.outcome.error?.code}); delivery ${deliveryCount} of ${svc.config.maxDeliveryCount}, leaving it for redelivery.`,
        );
      case 'busy':
        throw new RedeliverError(
          `Change ${result.requestId} is being applied by another delivery; redelivery will answer it.`,
        );
    }
  };
}

/** The message body as JSON: the host hands objects already parsed, strings and bytes as they came. */
function decodeBody(message: unknown): unknown {
  if (typeof message === 'string' || Buffer.isBuffer(message) || message instanceof Uint8Array) {
    try {
      return JSON.parse(Buffer.from(message).toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }
  return message;
}
