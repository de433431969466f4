/**
 * Waiting for another delivery of the same request: a duplicate delivered concurrently waits for the first one's
 * outcome rather than bouncing straight back to the broker, which would redeliver at once and burn its deliveries.
 */
import { TERMINAL_STATES } from '../domain/ledger-state';
import type { ChangeLedger, LedgerRecord } from './ledger-ports';
import type { ProcessDeps } from './process-change';

/** How often a busy record is re-read while another delivery applies it. */
const BUSY_POLL_MS = 200;
/** The longest one delivery waits for another (so a wait plus its own change stays within the function timeout). */
const BUSY_WAIT_MAX_MS = 60_000;

/**
 * Re-reads a record held by another delivery until it is decided (the record), claimable again (`'claimable'`:
 * released, or its lease ran out because the holder crashed), or the wait ends (undefined).
 */
export async function waitForDecision(
  ledger: ChangeLedger,
  requestId: string,
  held: LedgerRecord,
  deps: ProcessDeps,
): Promise<LedgerRecord | 'claimable' | undefined> {
  const leaseEnd = held.leaseUntil === undefined ? Number.POSITIVE_INFINITY : Date.parse(held.leaseUntil);
  const until = deps.clock.now() + Math.min(deps.settings.deadlineMs, BUSY_WAIT_MAX_MS);
  for (;;) {
    if (deps.clock.now() >= leaseEnd) return 'claimable';
    if (deps.clock.now() + BUSY_POLL_MS > until) return undefined;
    try {
      await deps.clock.sleep(BUSY_POLL_MS);
    } catch {
      return undefined; // aborted: the function is stopping
    }
    const record = await ledger.get(requestId);
    if (record === undefined || record.state === 'received') return 'claimable';
    if (TERMINAL_STATES.has(record.state)) return record;
  }
}
