/**
 * Ledger maintenance (the cleanup timer): finalises HTTP requests whose process died mid-change (lease run out:
 * decided from ARM's current state and the recorded write intent), publishes result events whose publishing had
 * failed (so no outcome stays unannounced), then deletes records (and processed circuit-breaker records) last
 * updated longer ago than the retention (LEDGER_RETENTION_DAYS).
 */
import { finaliseStalledHttp } from './finalise-stalled';
import type { Logger } from './logger-ports';
import { republishUnpublished } from './republish';
import type { ServiceContext } from './service-context';

/** What one sweep did (`noLedger`: no storage account is configured, so there is nothing to sweep). */
export type Sweep =
  | { kind: 'noLedger' }
  | { kind: 'swept'; finalised: number; republished: number; cutoff: Date; deleted: number; breakerDeleted: number };

export async function sweepLedger({ ports, settings }: ServiceContext, logger: Logger): Promise<Sweep> {
  const { ledger, arm, publisher, clock, fingerprints } = ports;
  if (ledger === undefined) {
    logger.info('No change ledger is configured: nothing to clean up');
    return { kind: 'noLedger' };
  }
  const now = new Date(clock.now());
  const readTimeoutMs = settings.time.sweepReadTimeoutMs;
  const finalised = await finaliseStalledHttp(
    { ledger, arm, publisher, clock, logger, readTimeoutMs, fingerprints },
    now,
  );
  const republished = await republishUnpublished(ledger, publisher, now, logger, {
    graceMs: settings.ledger.republishAfterMs,
  });
  const cutoff = new Date(now.getTime() - settings.ledger.retentionMs);
  const deleted = await ledger.purge(cutoff);
  // The circuit-breaker records beside the ledger share its retention.
  const breakerDeleted = await ports.breakerStore.purge(cutoff);
  logger.info('Ledger maintenance finished', {
    finalised,
    republished,
    cutoff: cutoff.toISOString(),
    deleted,
    breakerDeleted,
  });
  return { kind: 'swept', finalised, republished, cutoff, deleted, breakerDeleted };
}
