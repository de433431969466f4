import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import { backendChangeStatusHandler } from './backend-change-status';
import { backendChangesHandler } from './backend-changes';
import { ledgerCleanupHandler } from './ledger-cleanup';
import { processBackendChangeHandler } from './process-backend-change';
import { scheduledReconnectHandler } from './scheduled-reconnect';
import type { ServicesProvider } from './services';

/** One function of the app: its name (part of the contract), trigger and handler. */
export type FunctionRegistration =
  | {
      kind: 'http';
      name: string;
      trigger: { methods: Array<'GET' | 'POST'>; route: string; authLevel: 'anonymous' | 'function' };
      handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
    }
  | {
      kind: 'serviceBusQueue';
      name: string;
      trigger: { queueName: string; connection: string };
      handler: (message: unknown, context: InvocationContext) => Promise<void>;
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
  setting: (name: string) => string | undefined = (name) => process.env[name],
): FunctionRegistration[] {
  return [
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
      trigger: { queueName: '%CHANGE_REQUESTS_QUEUE%', connection: 'ServiceBusConnection' },
      handler: processBackendChangeHandler(services),
    },
    {
      name: 'scheduledReconnect',
      kind: 'timer',
      trigger: { schedule: '%RECONNECT_SCHEDULE%' },
      handler: scheduledReconnectHandler(services, () => setting('RECONNECT_SCHEDULE')),
    },
    {
      name: 'ledgerCleanup',
      kind: 'timer',
      trigger: { schedule: '%LEDGER_CLEANUP_SCHEDULE%' },
      handler: ledgerCleanupHandler(services),
    },
  ];
}
