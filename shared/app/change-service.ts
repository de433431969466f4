/**
 * The change service: every use case of the app behind one object, built once by the composition root
 * (functions/composition-root.ts) from its ports and settings. Each trigger adapter in functions/ makes one call
 * into it and maps the result to its answer (HTTP response, message settlement, or a throw for the host to retry).
 *
 * ```
 *   trigger ──► ChangeService ──► processChange / processChangeSet ──► applyChange ──► ARM
 *                     │                    │ claim / complete                 │
 *                     │                    └──────────────► ledger ◄──────────┘ write intent
 *                     └─► publish result event (after the outcome is recorded)
 * ```
 */
import type { DeliveryItem } from '../domain/breaker-event';
import type { BreakerHistory } from '../domain/breaker-history';
import { breakerEvents, breakerHistoryOf } from './breaker-intake';
import type { BreakerResult } from './breaker-event';
import { changeStatus, type ChangeStatus } from './change-status';
import type { DeadLetteredMessage } from './dead-letter';
import { acceptHttp, applyHttp, type HttpAnswer, type HttpSubmission } from './http-intake';
import { sweepLedger, type Sweep } from './ledger-sweep';
import type { Logger } from './logger-ports';
import { deadLettered, deliver, type Delivered, type QueueDelivery } from './queue-intake';
import { fanOutReconnect, type FanOut } from './reconnect-fan-out';
import { tracedContext, type ChangePorts, type ChangeServiceSettings } from './service-context';
import type { Telemetry } from './telemetry-ports';

/** Where breaker events come in; each intake logs an ignored event type once. */
export type BreakerIntake = 'eventGrid' | 'webhook' | 'queue';

/**
 * Each use case that does traced work takes the invocation's `telemetry` last (bound to its trigger span): the spans
 * of that work are the trigger span's children. Without it, they start traces of their own.
 */
export interface ChangeService {
  /** A POSTed change or change set, applied within the synchronous budget (HTTP_SYNC_SECONDS). */
  apply(input: HttpSubmission, logger: Logger, telemetry?: Telemetry): Promise<HttpAnswer>;
  /** A POSTed change or set with `Prefer: respond-async`: queued and registered, or answered synchronously. */
  accept(input: HttpSubmission, logger: Logger, telemetry?: Telemetry): Promise<HttpAnswer>;
  /** One delivery from the change-request queue. */
  deliver(message: QueueDelivery, logger: Logger, telemetry?: Telemetry): Promise<Delivered>;
  /** A message of the change-request queue's dead-letter queue. */
  settleDeadLettered(message: DeadLetteredMessage, logger: Logger, telemetry?: Telemetry): Promise<Delivered>;
  /** What happened to a change or a change set. */
  status(requestId: string, telemetry?: Telemetry): Promise<ChangeStatus>;
  /** The scheduled reconnect's requests for the occurrence at `scheduledAt`, queued. */
  fanOutReconnect(scheduledAt: Date, logger: Logger, telemetry?: Telemetry): Promise<FanOut>;
  /** Ledger maintenance: stalled HTTP records finalised, unpublished outcomes republished, old records purged. */
  sweep(logger: Logger, telemetry?: Telemetry): Promise<Sweep>;
  /** The breaker events of one parsed delivery. Throws what the intake should have redelivered. */
  breakerEvents(
    items: DeliveryItem[],
    intake: BreakerIntake,
    logger: Logger,
    telemetry?: Telemetry,
  ): Promise<{ results: BreakerResult[]; ignored: number }>;
  /** A backend's breaker history. */
  breakerHistory(backendId: string): Promise<BreakerHistory>;
}

export function createChangeService(ports: ChangePorts, settings: ChangeServiceSettings): ChangeService {
  const ctx = { ports, settings };
  const seen: Record<BreakerIntake, Set<string>> = { eventGrid: new Set(), webhook: new Set(), queue: new Set() };
  const on = (telemetry: Telemetry | undefined) => tracedContext(ctx, telemetry);
  return {
    apply: (input, logger, telemetry) => applyHttp(on(telemetry), input, logger),
    accept: (input, logger, telemetry) => acceptHttp(on(telemetry), input, logger),
    deliver: (message, logger, telemetry) => deliver(on(telemetry), message, logger),
    settleDeadLettered: (message, logger, telemetry) => deadLettered(on(telemetry), message, logger),
    status: (requestId, telemetry) => changeStatus(on(telemetry).ports.ledger, requestId),
    fanOutReconnect: (scheduledAt, logger, telemetry) => fanOutReconnect(on(telemetry), scheduledAt, logger),
    sweep: (logger, telemetry) => sweepLedger(on(telemetry), logger),
    breakerEvents: (items, intake, logger, telemetry) => breakerEvents(on(telemetry), items, logger, seen[intake]),
    breakerHistory: (backendId) => breakerHistoryOf(ctx, backendId),
  };
}
