/**
 * The intakes of API Management's circuit-breaker events (Event Grid, webhook, queue) after the trigger has parsed
 * the delivery: every breaker event is handled by the breaker use case (breaker-event.ts), whose pool writes are
 * change requests like any other; other event types are logged (once per type) and acknowledged.
 */
import { backendResourceId } from '../domain/backend-id';
import type { DeliveryItem } from '../domain/breaker-event';
import { breakerHistory, type BreakerHistory } from '../domain/breaker-history';
import { eventDataOf } from '../domain/breaker-record';
import { handleBreakerEvent, type BreakerResult } from './breaker-event';
import type { BreakerPorts } from './breaker-ports';
import type { Logger } from './logger-ports';
import { processChange } from './process-change';
import { processDepsOf, type ServiceContext } from './service-context';

/** Runs every breaker event of a parsed delivery; `seen`: the event types already logged as ignored. */
export async function breakerEvents(
  ctx: ServiceContext,
  items: DeliveryItem[],
  logger: Logger,
  seen: Set<string>,
): Promise<{ results: BreakerResult[]; ignored: number }> {
  const results: BreakerResult[] = [];
  let ignored = 0;
  for (const item of items) {
    if (item.kind === 'breaker') {
      results.push(await handleBreakerEvent(item.event, breakerPorts(ctx, logger), ctx.settings.breaker));
    } else if (item.kind === 'ignored') {
      ignored++;
      if (!seen.has(item.type)) {
        seen.add(item.type);
        // A *CircuitBreaker* type we do not know may be a renamed breaker event: worth a warning.
        const props = { type: item.type };
        const message = 'Event type not handled; acknowledged and ignored (logged once per type)';
        if (/circuitbreaker/i.test(item.type)) logger.warn(message, props);
        else logger.info(message, props);
      }
    }
  }
  return { results, ignored };
}

/** The open and closed periods of a backend's breaker, from the processed events. */
export async function breakerHistoryOf({ ports }: ServiceContext, backendId: string): Promise<BreakerHistory> {
  const records = await ports.breakerStore.events(backendId);
  const done = records.filter((r) => r.status === 'done').map(eventDataOf);
  return breakerHistory(backendId, done);
}

function breakerPorts(ctx: ServiceContext, logger: Logger): BreakerPorts {
  const { ports } = ctx;
  const deps = processDepsOf(ctx, logger);
  return {
    arm: ports.arm,
    // Each pool write is a change request like any other: validated, scope-checked, claimed in the ledger under its
    // requestId, conditional on ifMatch, recorded and published.
    applyWrite: async (write) => {
      const processed = await processChange(
        {
          requestId: write.requestId,
          operation: 'update',
          target: backendResourceId(write.target),
          ifMatch: write.ifMatch,
          body: write.body,
        },
        { fallbackRequestId: write.requestId, onTransient: 'redeliver', onPublishFailure: 'defer' },
        deps,
      );
      if (processed.kind === 'outcome') return { kind: 'outcome', outcome: processed.outcome };
      if (processed.kind === 'redeliver') {
        return { kind: 'retryLater', reason: processed.outcome.error?.code ?? 'transient failure' };
      }
      return { kind: 'retryLater', reason: 'the pool write is being applied by another delivery' };
    },
    store: ports.breakerStore,
    publisher: ports.breakerPublisher,
    clock: ports.clock,
    logger,
    ...(ports.telemetry.enabled ? { telemetry: ports.telemetry } : {}),
  };
}
