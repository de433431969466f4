import { randomUUID } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import { isTransientFailure } from '../shared/contract/outcome';
import { rejectedOutcome } from '../shared/engine/rejection';
import { runRawChange } from '../shared/engine/run-raw-change';
import { summary } from './backend-changes';
import { contextLogger } from './context-logger';
import { engineSettings, type ServicesProvider } from './services';

/** Thrown so Service Bus redelivers the message: the change failed transiently and deliveries remain. */
export class RedeliverError extends Error {
  override readonly name = 'RedeliverError';
}

/**
 * Service Bus queue trigger on the change-request queue. Settlement: invalid → `rejected` event, return;
 * ARM refused → `failed` event, return; transient failure → throw for redelivery, and publish `failed` only on the
 * last delivery. A publish failure throws too, so the message is not completed and nothing is lost.
 */
export function processBackendChangeHandler(services: ServicesProvider) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const svc = services();
    const logger = contextLogger(context);
    const meta = context.triggerMetadata ?? {};
    const messageId = typeof meta['messageId'] === 'string' && meta['messageId'] !== '' ? meta['messageId'] : randomUUID();
    const correlationId = typeof meta['correlationId'] === 'string' ? meta['correlationId'] : undefined;
    const deliveryCount = typeof meta['deliveryCount'] === 'number' ? meta['deliveryCount'] : 1;

    const raw = decodeBody(message);
    const { outcome } =
      raw === undefined
        ? {
            outcome: rejectedOutcome(
              undefined,
              {
                code: 'ValidationError',
                message: 'The message body is not valid JSON.',
                details: [{ code: 'InvalidJson', target: 'body', message: 'The message body is not valid JSON.' }],
              },
              messageId,
            ),
          }
        : await runRawChange(raw, { arm: svc.arm, clock: svc.clock, logger, settings: engineSettings(svc.config) }, messageId);

    logger.info('Change request finished', { ...summary(outcome), deliveryCount });
    if (isTransientFailure(outcome) && deliveryCount < svc.config.maxDeliveryCount) {
      throw new RedeliverError(
        `Change ${outcome.requestId} failed transiently (${outcome.error?.code}); delivery ${deliveryCount} of ${svc.config.maxDeliveryCount}, leaving it for redelivery.`,
      );
    }
    await svc.publisher.publish(outcome, { correlationId });
  };
}

/** The message body as JSON: the host hands objects already parsed, strings and bytes as they came. */
function decodeBody(message: unknown): unknown {
  if (typeof message === 'string' || Buffer.isBuffer(message) || message instanceof Uint8Array) {
    try {
      return JSON.parse(Buffer.from(message as string | Uint8Array).toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }
  return message;
}
