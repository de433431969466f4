/**
 * How a change set's items are recorded and announced: in the ledger (a decided item is never applied again; each
 * applied item's event is published and marked), or, for dry runs and ledger-less runs, only announced.
 */
import { backendResourceId } from '../domain/backend-id';
import type { SetOutcome } from '../domain/contract/change-set';
import type { Outcome } from '../domain/contract/outcome';
import type { Delivery, ProcessDeps } from './process-change';
import { waitForDecision } from './wait-for-decision';
import { legacyFingerprinter } from '../domain/fingerprint';
import type { ChangeLedger, LedgerRecord } from './ledger-ports';
import type { ItemJournal, ItemStart, SetItem } from './run-change-set';

/** Items recorded in the ledger: already-decided items are not applied again; each applied item's event is published. */
export function ledgerJournal(ledger: ChangeLedger, delivery: Delivery, deps: ProcessDeps): ItemJournal {
  const now = (): Date => new Date(deps.clock.now());
  const begin = async (item: SetItem, waited = false): Promise<ItemStart> => {
    const { request } = item;
    const claim = await ledger.claim({
      requestId: request.requestId,
      ...itemFingerprint(request, deps),
      operation: request.operation,
      target: backendResourceId(request.target),
      leaseMs: deps.leaseMs,
      now: now(),
    });
    switch (claim.kind) {
      case 'busy': {
        // The delivery before this one crashed while applying this item and its lease has not run out yet (it
        // was taken after the set's): wait for it rather than bouncing the message back at once.
        if (waited) return { kind: 'busy' };
        const decided = await waitForDecision(ledger, request.requestId, claim.record, deps);
        return decided === undefined ? { kind: 'busy' } : begin(item, true);
      }
      case 'conflict':
        // Not reachable through the set's own claim (same set id, same fingerprint, same items); kept honest.
        return {
          kind: 'recorded',
          outcome: {
            requestId: request.requestId,
            status: 'rejected',
            attempts: 0,
            durationMs: 0,
            error: { code: 'RequestIdConflict', message: 'A different change is recorded under this item id.' },
          },
        };
      case 'done': {
        const outcome = claim.record.outcome;
        if (outcome === undefined) return { kind: 'busy' };
        if (!claim.record.published && (await publishItem(outcome, delivery, deps))) {
          await ledger.markPublished(claim.record, now());
        }
        return { kind: 'recorded', outcome };
      }
      case 'claimed': {
        // The record as this delivery last wrote it: recording the intent changes it.
        let held = claim.record;
        return {
          kind: 'run',
          // As a single change's (settle-change.ts): an item an earlier delivery may have written is settled from
          // its recorded intent, never written again over a later change.
          intent: {
            recorded: held.intent,
            record: async (next) => {
              held = await ledger.recordIntent(held, next, now());
            },
          },
          async finish(outcome, final) {
            if (!final) {
              // A reconnect failing transiently was known not to be sent: the next delivery may send it.
              const clearIntent = request.operation === 'reconnect';
              await ledger.release(held, outcome.attempts, now(), { clearIntent });
              if (delivery.onTransient === 'answer') await publishItem(outcome, delivery, deps);
              return;
            }
            const etagBefore = outcome.etagBefore === undefined ? {} : { etagBefore: outcome.etagBefore };
            const record = await ledger.complete(held, outcome, { ...etagBefore, now: now() });
            if (await publishItem(outcome, delivery, deps)) await ledger.markPublished(record, now());
          },
        };
      }
    }
  };
  return { begin: (item) => begin(item) };
}

function itemFingerprint(
  request: unknown,
  deps: ProcessDeps,
): { fingerprint: string; sameRequest: (stored: string) => boolean } {
  const f = (deps.fingerprints ?? legacyFingerprinter()).of(request);
  return { fingerprint: f.value, sameRequest: f.matches };
}

/** Nothing recorded (dry runs, no ledger): an applied item's event is published as it finishes. */
export function publishingJournal(delivery: Delivery, deps: ProcessDeps): ItemJournal {
  return {
    begin: (item) =>
      Promise.resolve({
        kind: 'run',
        async finish(outcome: Outcome, final: boolean) {
          if (item.request.dryRun || (!final && delivery.onTransient === 'redeliver')) return;
          await publishItem(outcome, delivery, deps);
        },
      }),
  };
}

export async function publishSetAndMark(
  ledger: ChangeLedger,
  record: LedgerRecord,
  outcome: SetOutcome,
  delivery: Delivery,
  deps: ProcessDeps,
): Promise<void> {
  if (await publishSet(outcome, delivery, deps)) await ledger.markPublished(record, new Date(deps.clock.now()));
}

function publishItem(outcome: Outcome, delivery: Delivery, deps: ProcessDeps): Promise<boolean> {
  return guarded(() => deps.publisher.publish(outcome, { correlationId: delivery.correlationId }), delivery, deps);
}

export function publishSet(outcome: SetOutcome, delivery: Delivery, deps: ProcessDeps): Promise<boolean> {
  return guarded(
    () => deps.publisher.publishChangeSet(outcome, { correlationId: delivery.correlationId }),
    delivery,
    deps,
  );
}

/** Publishes; a failure throws unless the delivery defers it (HTTP: the repair sweep publishes recorded events). */
async function guarded(send: () => Promise<void>, delivery: Delivery, deps: ProcessDeps): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    if (delivery.onPublishFailure !== 'defer') throw error;
    deps.logger.error('Publishing a change-set event failed', {
      error: error instanceof Error ? error.message : String(error),
    });
    return false;
  }
}
