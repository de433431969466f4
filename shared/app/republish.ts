import type { ChangeLedger } from './ledger-ports';
import type { Logger } from './logger-ports';
import type { ResultPublisher } from './publisher-ports';

/**
 * The repair sweep: publishes the result events of recorded outcomes whose publishing failed (an HTTP request
 * answered while the broker was down). Returns how many were published; stops at the first publish failure
 * (the broker is still down; the next sweep tries again).
 */
export async function republishUnpublished(
  ledger: ChangeLedger,
  publisher: ResultPublisher,
  now: Date,
  logger: Logger,
  options: { graceMs: number; limit?: number },
): Promise<number> {
  // The grace leaves a record to its own delivery (which may still be publishing) before the sweep takes over.
  const records = await ledger.unpublished(new Date(now.getTime() - options.graceMs), options.limit ?? 500);
  let published = 0;
  for (const record of records) {
    const { outcome, setOutcome } = record;
    if (outcome === undefined && setOutcome === undefined) continue;
    try {
      if (setOutcome !== undefined) await publisher.publishChangeSet(setOutcome);
      else if (outcome !== undefined) await publisher.publish(outcome);
    } catch (error) {
      logger.warn('Re-publishing stopped: the broker is still unavailable', {
        error: error instanceof Error ? error.message : String(error),
      });
      break;
    }
    await ledger.markPublished(record, now);
    published += 1;
  }
  return published;
}
