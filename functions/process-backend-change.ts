import { randomUUID } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import { processChangeTraced } from './traced-change';
import { isChangeSetInput, type SetOutcome } from '../shared/domain/contract/change-set';
import type { Outcome } from '../shared/domain/contract/outcome';
import type { Processed } from '../shared/app/process-change';
import { processChangeSet, type ProcessedSet } from '../shared/app/apply-change-set';
import { requestIdOfMessage } from '../shared/adapters/service-bus/message-request-id';
import { notJsonError } from '../shared/domain/rejection';
import { summary } from './backend-changes';
import { contextLogger } from './context-logger';
import { processDeps, type ServicesProvider } from './composition-root';
import { decodeBody } from './message-body';

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
    // A messageId that is no valid requestId still names the request, by an id derived from it (GET finds it).
    const { requestId: fallbackRequestId, derivedFrom } = requestIdOfMessage(messageId);
    const correlationId = typeof meta['correlationId'] === 'string' ? meta['correlationId'] : undefined;
    const deliveryCount = metadataInt(meta['deliveryCount']);
    if (deliveryCount === undefined) logger.warn('The trigger gave no deliveryCount; treating this as delivery 1');
    const last = (deliveryCount ?? 1) >= svc.config.maxDeliveryCount;
    const started = svc.clock.now();

    const raw = decodeBody(message);
    const delivery = {
      fallbackRequestId,
      originalMessageId: derivedFrom,
      correlationId,
      onTransient: last ? 'final' : 'redeliver',
      // Only the timer's own reconnect may use the timer's requestIds (any sender could otherwise block it).
      reservedIds: { policy: 'timer', after: svc.config.reconnectAfter },
    } as const;
    const result: Processed | ProcessedSet = isChangeSetInput(raw)
      ? await processChangeSet(raw, delivery, processDeps(svc, logger))
      : await processChangeTraced(
          svc.telemetry,
          raw,
          delivery,
          processDeps(svc, logger),
          raw === undefined ? NOT_JSON : undefined,
        );
    switch (result.kind) {
      case 'outcome': {
        // Set on the fresh summary: properties added after a spread take V8's slow path.
        const finished: Record<string, unknown> =
          'items' in result.outcome
            ? {
                requestId: result.outcome.requestId,
                status: result.outcome.status,
                changes: result.outcome.items.length,
              }
            : summary(result.outcome);
        finished['deliveryCount'] = deliveryCount ?? 1;
        finished['duplicate'] = result.duplicate;
        logger.info('Change request finished', finished);
        return;
      }
      case 'redeliver':
        // Service Bus redelivers an abandoned message at once: without a pause a throttled subscription would burn
        // every delivery in seconds. Honour ARM's advice within what is left of the function's time.
        await pauseBeforeRedelivery(result.outcome.retryAfterMs, started, svc.config.deadlineMs, svc.clock);
        throw new RedeliverError(
          `Change ${result.outcome.requestId} failed transiently (${transientCode(result.outcome)}); delivery ${deliveryCount ?? 1} of ${svc.config.maxDeliveryCount}, leaving it for redelivery.`,
        );
      case 'busy':
        throw new RedeliverError(
          `Change ${result.requestId} is being applied by another delivery; redelivery will answer it.`,
        );
    }
  };
}

/** The error code of a transient failure: the set's own, or its failing change's. */
function transientCode(outcome: Outcome | SetOutcome): string | undefined {
  if (!('items' in outcome)) return outcome.error?.code;
  return outcome.error?.code ?? outcome.items.find((item) => item.status === 'failed')?.error?.code;
}

/** Time a queue invocation may take in all: the change deadline plus a margin, below host.json's functionTimeout. */
const INVOCATION_MARGIN_MS = 60_000;

async function pauseBeforeRedelivery(
  retryAfterMs: number | undefined,
  started: number,
  deadlineMs: number,
  clock: { now(): number; sleep(ms: number): Promise<void> },
): Promise<void> {
  if (retryAfterMs === undefined) return;
  // At most a quarter of the change deadline per delivery, and never past the invocation's own time.
  const left = started + deadlineMs + INVOCATION_MARGIN_MS / 2 - clock.now();
  const pause = Math.min(retryAfterMs, deadlineMs / 4, left);
  if (pause > 0) await clock.sleep(pause);
}

/**
 * An integer from trigger metadata. The Functions host passes numbers; some worker versions pass 64-bit values as
 * strings or as Long objects ({ low, high }); all are accepted.
 */
export function metadataInt(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  if (typeof value === 'bigint') return Number(value);
  if (value !== null && typeof value === 'object' && 'low' in value && 'high' in value) {
    const { low, high } = value;
    if (typeof low === 'number' && typeof high === 'number') return high * 2 ** 32 + (low >>> 0);
  }
  return undefined;
}
