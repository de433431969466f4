/**
 * The Azure Functions entry point (`main` in package.json): registers every function of the registration list
 * with the host. Nothing else happens at import time; services are created on first invocation.
 */
import { app } from '@azure/functions';
import { functionRegistrations } from './registrations';
import { lazyServices } from './services';

for (const fn of functionRegistrations(lazyServices())) {
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
