import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import { loadTriggerSettings, type TriggerSettings } from '../shared/config/trigger-settings';
import { backendChangeStatusHandler } from './backend-change-status';
import { backendChangesHandler } from './backend-changes';
import { deadLetteredChangeHandler } from './dead-lettered-change';
import {
  circuitBreakerEventsHandler,
  circuitBreakerHistoryHandler,
  circuitBreakerQueueHandler,
  circuitBreakerWebhookHandler,
} from './circuit-breaker-events';
import { ledgerCleanupHandler } from './ledger-cleanup';
import { processBackendChangeHandler } from './process-backend-change';
import { scheduledReconnectHandler } from './scheduled-reconnect';
import type { ServicesProvider } from './composition-root';
import { withTelemetry } from './telemetry';

/** One function of the app: its name (part of the contract), trigger and handler. */
export type FunctionRegistration =
  | {
      kind: 'http';
      name: string;
      trigger: { methods: Array<'GET' | 'POST' | 'OPTIONS'>; route: string; authLevel: 'anonymous' | 'function' };
      handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
    }
  | {
      kind: 'serviceBusQueue';
      name: string;
      /**
       * `isSessionsEnabled` (CHANGE_REQUESTS_SESSIONS): the queue is session-enabled, sessionId = the backend's ARM id
       * in lower case, so changes to one backend run strictly in order, one at a time, while different backends
       * proceed in parallel. Use it when the order of changes to one backend matters (e.g. a pipeline sends
       * successive updates of the same backend), at the cost of throughput per backend.
       */
      trigger: { queueName: string; connection: string; isSessionsEnabled: boolean };
      handler: (message: unknown, context: InvocationContext) => Promise<void>;
    }
  | {
      /** Event Grid trigger: one event per invocation (either schema); a throw makes Event Grid redeliver it. */
      kind: 'eventGrid';
      name: string;
      handler: (event: unknown, context: InvocationContext) => Promise<void>;
    }
  | {
      kind: 'timer';
      name: string;
      trigger: { schedule: string };
      handler: (timer: Timer, context: InvocationContext) => Promise<void>;
    };

/**
 * The registration list: the Azure entry point registers exactly these with `app.*`, and the local runtime serves
 * exactly these, so a function cannot exist in one and not the other. `%NAME%` is resolved from app settings.
 */
export function functionRegistrations(
  services: ServicesProvider,
  settings: TriggerSettings = loadTriggerSettings(),
): FunctionRegistration[] {
  const registrations: FunctionRegistration[] = [
    {
      name: 'backendChanges',
      kind: 'http',
      trigger: { methods: ['POST'], route: 'backend-changes', authLevel: 'function' },
      handler: backendChangesHandler(services),
    },
    {
      name: 'backendChangeStatus',
      kind: 'http',
      trigger: { methods: ['GET'], route: 'backend-changes/{requestId}', authLevel: 'function' },
      handler: backendChangeStatusHandler(services),
    },
    {
      name: 'processBackendChange',
      kind: 'serviceBusQueue',
      trigger: {
        queueName: '%CHANGE_REQUESTS_QUEUE%',
        connection: 'ServiceBusConnection',
        isSessionsEnabled: settings.sessions,
      },
      handler: processBackendChangeHandler(services),
    },
    {
      // The same queue's dead-letter sub-queue (never session-enabled): closes what will never be delivered again.
      name: 'processDeadLetteredChange',
      kind: 'serviceBusQueue',
      trigger: {
        queueName: '%CHANGE_REQUESTS_QUEUE%/$DeadLetterQueue',
        connection: 'ServiceBusConnection',
        isSessionsEnabled: false,
      },
      handler: deadLetteredChangeHandler(services),
    },
    {
      name: 'scheduledReconnect',
      kind: 'timer',
      trigger: { schedule: '%RECONNECT_SCHEDULE%' },
      handler: scheduledReconnectHandler(services, () => settings.reconnectSchedule),
    },
    {
      name: 'circuitBreakerEvents',
      kind: 'eventGrid',
      handler: circuitBreakerEventsHandler(services),
    },
    {
      name: 'circuitBreakerWebhook',
      kind: 'http',
      trigger: { methods: ['POST', 'OPTIONS'], route: 'circuit-breaker-events', authLevel: 'function' },
      handler: circuitBreakerWebhookHandler(services),
    },
    {
      name: 'circuitBreakerHistory',
      kind: 'http',
      trigger: { methods: ['GET'], route: 'circuit-breaker-events', authLevel: 'function' },
      handler: circuitBreakerHistoryHandler(services),
    },
    // Only with CIRCUIT_BREAKER_QUEUE: the host will not index a trigger whose %setting% is missing.
    ...(settings.circuitBreakerQueue !== undefined
      ? [
          {
            name: 'circuitBreakerQueue',
            kind: 'serviceBusQueue' as const,
            trigger: {
              queueName: '%CIRCUIT_BREAKER_QUEUE%',
              connection: 'ServiceBusConnection',
              isSessionsEnabled: false,
            },
            handler: circuitBreakerQueueHandler(services),
          },
        ]
      : []),
    {
      name: 'ledgerCleanup',
      kind: 'timer',
      trigger: { schedule: '%LEDGER_CLEANUP_SCHEDULE%' },
      handler: ledgerCleanupHandler(services),
    },
  ];
  // One span per invocation, continuing the caller's trace (telemetry off: the handlers as they are).
  return registrations.map((fn) => withTelemetry(fn, () => services().telemetry));
}
