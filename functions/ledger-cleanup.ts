import type { InvocationContext, Timer } from '@azure/functions';
import { contextLogger } from './context-logger';
import type { ServicesProvider } from './services';

/** Timer: deletes ledger records last updated longer ago than the retention (LEDGER_RETENTION_DAYS). */
export function ledgerCleanupHandler(services: ServicesProvider) {
  return async (_timer: Timer | undefined, context: InvocationContext): Promise<void> => {
    const svc = services();
    const logger = contextLogger(context);
    if (svc.ledger === undefined) {
      logger.info('No change ledger is configured: nothing to clean up');
      return;
    }
    const cutoff = new Date(svc.clock.now() - svc.config.ledger.retentionMs);
    const deleted = await svc.ledger.purge(cutoff);
    logger.info('Ledger cleanup finished', { cutoff: cutoff.toISOString(), deleted });
  };
}
