import type { InvocationContext, Timer } from '@azure/functions';
import { finaliseStalledHttp } from '../shared/app/finalise-stalled';
import { republishUnpublished } from '../shared/app/republish';
import { contextLogger } from './context-logger';
import type { ServicesProvider } from './composition-root';

/**
 * Timer: ledger maintenance. Finalises HTTP requests whose process died mid-change (lease run out: decided from ARM's
 * current state and the recorded write intent), publishes result events whose publishing had failed (so no outcome
 * stays unannounced), then deletes records (and processed circuit-breaker records) last updated longer ago than the
 * retention (LEDGER_RETENTION_DAYS).
 */
export function ledgerCleanupHandler(services: ServicesProvider) {
  return async (_timer: Timer | undefined, context: InvocationContext): Promise<void> => {
    const svc = services();
    const logger = contextLogger(context);
    if (svc.ledger === undefined) {
      logger.info('No change ledger is configured: nothing to clean up');
      return;
    }
    const now = new Date(svc.clock.now());
    const finalised = await finaliseStalledHttp(
      {
        ledger: svc.ledger,
        arm: svc.arm,
        publisher: svc.publisher,
        clock: svc.clock,
        logger,
        readTimeoutMs: 30_000,
        fingerprints: svc.fingerprints,
      },
      now,
    );
    const republished = await republishUnpublished(svc.ledger, svc.publisher, now, logger, {
      graceMs: svc.config.ledger.republishAfterMs,
    });
    const cutoff = new Date(now.getTime() - svc.config.ledger.retentionMs);
    const deleted = await svc.ledger.purge(cutoff);
    // The circuit-breaker records beside the ledger share its retention.
    const breakerDeleted = await svc.breaker.store.purge(cutoff);
    logger.info('Ledger maintenance finished', {
      finalised,
      republished,
      cutoff: cutoff.toISOString(),
      deleted,
      breakerDeleted,
    });
  };
}
