/**
 * The change-request queue's deliveries: a change or a set, settled through the ledger (`deliver`), and the
 * dead-letter queue's messages, whose records are closed as failed (`settleDeadLettered`).
 */
import { isChangeSetInput, type SetOutcome } from '../domain/contract/change-set';
import type { Outcome } from '../domain/contract/outcome';
import { notJsonError } from '../domain/rejection';
import { outcomeSummary, setOutcomeSummary } from '../domain/outcome-summary';
import { processChangeSet, type ProcessedSet } from './apply-change-set';
import { settleDeadLettered, type DeadLetteredMessage } from './dead-letter';
import type { Logger } from './logger-ports';
import type { Processed } from './process-change';
import { processDepsOf, type ServiceContext } from './service-context';
import { processChangeTraced } from './traced-change';

/** One delivery of a queue message, as the trigger hands it over. */
export interface QueueDelivery {
  /** The parsed JSON body; undefined when it was not JSON. */
  body: unknown;
  /** The requestId to use when the body names none (from the message id). */
  fallbackRequestId: string;
  /** The message id the fallback requestId was derived from, when it was not a valid requestId itself. */
  originalMessageId?: string | undefined;
  correlationId?: string | undefined;
  /** Service Bus's delivery count; undefined when the trigger gave none (treated as delivery 1). */
  deliveryCount: number | undefined;
}

/** Settled (complete the message), or to be delivered again (abandon it), with the reason. */
export type Delivered = { kind: 'settled' } | { kind: 'redeliver'; reason: string };

const NOT_JSON = notJsonError('The message body');

/**
 * Settlement: invalid → `rejected` event; ARM refused → `failed` event; transient failure → redeliver, and `failed`
 * only on the last delivery. A duplicate delivery is answered from the ledger. A publish or ledger failure throws,
 * so the message is not completed and nothing is lost.
 */
export async function deliver(ctx: ServiceContext, message: QueueDelivery, logger: Logger): Promise<Delivered> {
  const { clock, telemetry } = ctx.ports;
  const { maxDeliveryCount } = ctx.settings.queue;
  if (message.deliveryCount === undefined)
    logger.warn('The trigger gave no deliveryCount; treating this as delivery 1');
  const deliveryCount = message.deliveryCount ?? 1;
  const started = clock.now();
  const delivery = {
    fallbackRequestId: message.fallbackRequestId,
    originalMessageId: message.originalMessageId,
    correlationId: message.correlationId,
    onTransient: deliveryCount >= maxDeliveryCount ? 'final' : 'redeliver',
    // Only the timer's own reconnect may use the timer's requestIds (any sender could otherwise block it).
    reservedIds: { policy: 'timer', after: ctx.settings.reconnect.after },
  } as const;
  const raw = message.body;
  const deps = processDepsOf(ctx, logger);
  const result: Processed | ProcessedSet = isChangeSetInput(raw)
    ? await processChangeSet(raw, delivery, deps)
    : await processChangeTraced(telemetry, raw, delivery, deps, raw === undefined ? NOT_JSON : undefined);
  switch (result.kind) {
    case 'outcome': {
      const finished = 'items' in result.outcome ? setOutcomeSummary(result.outcome) : outcomeSummary(result.outcome);
      finished['deliveryCount'] = deliveryCount;
      finished['duplicate'] = result.duplicate;
      logger.info('Change request finished', finished);
      return { kind: 'settled' };
    }
    case 'redeliver':
      // Service Bus redelivers an abandoned message at once: without a pause a throttled subscription would burn
      // every delivery in seconds. Honour ARM's advice within what is left of the function's time.
      await pauseBeforeRedelivery(ctx, result.outcome.retryAfterMs, started);
      return {
        kind: 'redeliver',
        reason: `Change ${result.outcome.requestId} failed transiently (${transientCode(result.outcome)}); delivery ${deliveryCount} of ${maxDeliveryCount}, leaving it for redelivery.`,
      };
    case 'busy':
      return {
        kind: 'redeliver',
        reason: `Change ${result.requestId} is being applied by another delivery; redelivery will answer it.`,
      };
  }
}

/** The error code of a transient failure: the set's own, or its failing change's. */
function transientCode(outcome: Outcome | SetOutcome): string | undefined {
  if (!('items' in outcome)) return outcome.error?.code;
  return outcome.error?.code ?? outcome.items.find((item) => item.status === 'failed')?.error?.code;
}

async function pauseBeforeRedelivery(
  { ports, settings }: ServiceContext,
  retryAfterMs: number | undefined,
  started: number,
): Promise<void> {
  if (retryAfterMs === undefined) return;
  const deadlineMs = settings.engine.deadlineMs;
  // At most a quarter of the change deadline per delivery, and never past the invocation's own time.
  const left = started + deadlineMs + settings.time.invocationMarginMs / 2 - ports.clock.now();
  const pause = Math.min(retryAfterMs, deadlineMs / 4, left);
  if (pause > 0) await ports.clock.sleep(pause);
}

/** Closes the record of a dead-lettered change request and publishes its `failed` event. */
export async function deadLettered(
  { ports, settings }: ServiceContext,
  message: DeadLetteredMessage,
  logger: Logger,
): Promise<Delivered> {
  const result = await settleDeadLettered(message, {
    ledger: ports.ledger,
    publisher: ports.publisher,
    clock: ports.clock,
    logger,
    ...(settings.engine.apiVersion === undefined ? {} : { apiVersion: settings.engine.apiVersion }),
  });
  if (result.kind === 'busy') {
    return { kind: 'redeliver', reason: `Change ${result.requestId} is still held by a delivery; trying again later.` };
  }
  logger.info('Dead-lettered change request settled', {
    requestId: result.outcome?.requestId,
    published: result.outcome !== undefined,
  });
  return { kind: 'settled' };
}
