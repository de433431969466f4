import type { InvocationContext, Timer } from '@azure/functions';
import { contextLogger } from './context-logger';
import { invocationTelemetry } from './telemetry';
import type { ServicesProvider } from './composition-root';

/**
 * Timer: ledger maintenance by the change service (stalled HTTP requests finalised, unpublished outcomes
 * republished, records older than LEDGER_RETENTION_DAYS deleted). A storage or broker failure throws: the host
 * retries the run.
 */
export function ledgerCleanupHandler(services: ServicesProvider) {
  return async (_timer: Timer | undefined, context: InvocationContext): Promise<void> => {
    await services().changes.sweep(contextLogger(context), invocationTelemetry(context));
  };
}
