/**
 * The Azure Functions entry point (`main` in package.json): registers every function of the registration list
 * with the host, and starts opening the Service Bus link in the background (see below).
 */
import './compile-cache';
import { app } from '@azure/functions';
import { loadTriggerSettings } from '../shared/config/trigger-settings';
import { functionRegistrations } from './registrations';
import { lazyServices } from './composition-root';

const services = lazyServices();
const triggers = loadTriggerSettings();

for (const fn of functionRegistrations(services, triggers)) {
  switch (fn.kind) {
    case 'http':
      app.http(fn.name, {
        methods: fn.trigger.methods,
        route: fn.trigger.route,
        authLevel: fn.trigger.authLevel,
        handler: fn.handler,
      });
      break;
    case 'serviceBusQueue':
      app.serviceBusQueue(fn.name, {
        queueName: fn.trigger.queueName,
        connection: fn.trigger.connection,
        isSessionsEnabled: fn.trigger.isSessionsEnabled,
        handler: fn.handler,
      });
      break;
    case 'eventGrid':
      app.eventGrid(fn.name, { handler: fn.handler });
      break;
    case 'timer':
      app.timer(fn.name, {
        schedule: fn.trigger.schedule,
        // Timers are not redelivered: retry a failed run (its requestIds are the same, so nothing is doubled).
        retry: { strategy: 'fixedDelay', maxRetryCount: 3, delayInterval: { seconds: 30 } },
        handler: fn.handler,
      });
      break;
  }
}

// Every invocation ends by publishing its result event, so the first one would otherwise wait for the Service Bus
// SDK to load and its connection and link to open (~200 ms) after its ARM call. Start that now, off the request
// path; it overlaps with the host finishing its start and with the first request's ARM work. A bad setting is
// still reported by the first invocation (warming swallows its own failures).
if (triggers.serviceBusConfigured) {
  setImmediate(() => {
    try {
      void services().publisher.warm?.();
    } catch {
      // Invalid configuration: the first invocation fails with the message naming the setting.
    }
  });
}
