/**
 * The circuit-breaker use case: one API Management breaker event in, recorded (keyed by its id, so a redelivery is a
 * no-op), acted on according to CIRCUIT_BREAKER_ACTION and the guards, and republished as our CloudEvent.
 * Throws {@link BreakerRetryError} (or a storage/broker error) only for what the trigger should retry.
 */
import type { BreakerEvent } from '../domain/breaker-event';
import { drainsInWindow, isStale, type PriorEvent } from '../domain/breaker-policy';
import {
  eventDataOf,
  initialData,
  toBreakerResultEvent,
  type BreakerAction,
  type BreakerEventData,
  type BreakerRecord,
  type PoolAction,
} from '../domain/breaker-record';
import { isInScope } from '../domain/scope-policy';
import { drainPool, poolsListing, restoreDrain } from './breaker-pools';
import { BreakerRetryError, type BreakerPorts, type BreakerSettings } from './breaker-ports';

/**
 * How long one delivery holds an event. Longer than a function may run (host.json functionTimeout, 5 min), so a
 * live delivery is never overtaken; a crashed one's event is taken over by the next delivery after it.
 */
const LEASE_MS = 10 * 60_000;
const BUSY_POLL_MS = 250;
/** How long a concurrent duplicate waits for the first delivery before asking to be redelivered. */
const BUSY_WAIT_MS = 30_000;

export interface BreakerResult {
  data: BreakerEventData;
  /** True when the event had been processed already (a redelivery): nothing was done again. */
  duplicate: boolean;
}

/** Handles one event and counts it (`breaker.events`) by type and decision: what was done, a duplicate, or retry. */
export async function handleBreakerEvent(
  event: BreakerEvent,
  ports: BreakerPorts,
  settings: BreakerSettings,
): Promise<BreakerResult> {
  let result: BreakerResult;
  try {
    result = await handleOnce(event, ports, settings);
  } catch (error) {
    ports.telemetry?.count('breaker.events', 1, { type: event.kind, decision: 'retry' });
    throw error;
  }
  const { action } = result.data;
  ports.telemetry?.count('breaker.events', 1, {
    type: event.kind,
    decision: result.duplicate ? 'duplicate' : action.taken,
    mode: action.mode,
    // The reason's code only ("PoolsUnavailable: <ARM code>" → "PoolsUnavailable"): a small, fixed set of values.
    reason: result.duplicate ? undefined : action.reason?.split(':', 1)[0],
  });
  return result;
}

async function handleOnce(event: BreakerEvent, ports: BreakerPorts, settings: BreakerSettings): Promise<BreakerResult> {
  const now = (): Date => new Date(ports.clock.now());
  let claim = await ports.store.claim(initialData(event, settings.mode), now(), LEASE_MS);
  if (claim.kind === 'busy') {
    const decided = await waitForOther(event, claim.record, ports);
    if (decided === 'claimable') claim = await ports.store.claim(initialData(event, settings.mode), now(), LEASE_MS);
    else if (decided !== undefined) claim = { kind: 'done', record: decided };
    if (claim.kind === 'busy') throw new BreakerRetryError('Another delivery of this event is being processed.');
  }
  if (claim.kind === 'done') {
    ports.logger.info('Circuit-breaker event already processed (redelivery)', { eventId: event.id });
    if (!claim.record.published) await publish(claim.record, ports, settings);
    return { data: eventDataOf(claim.record), duplicate: true };
  }
  let data: BreakerEventData;
  try {
    data = await act(event, ports, settings);
  } catch (error) {
    await ports.store.release(claim.record).catch(() => undefined);
    throw error;
  }
  const record = await ports.store.complete(claim.record, data, now());
  ports.logger.info('Circuit-breaker event processed', {
    eventId: event.id,
    backend: event.backendId,
    state: event.kind,
    action: data.action.taken,
    reason: data.action.reason,
  });
  await publish(record, ports, settings);
  return { data, duplicate: false };
}

async function publish(record: BreakerRecord, ports: BreakerPorts, settings: BreakerSettings): Promise<void> {
  await ports.publisher.publish(
    toBreakerResultEvent(eventDataOf(record), settings.source, new Date(ports.clock.now())),
  );
  await ports.store.markPublished(record);
}

/** Polls the event's record while another delivery holds it: the record once done, `claimable`, or undefined. */
async function waitForOther(event: BreakerEvent, held: BreakerRecord, ports: BreakerPorts) {
  const until = ports.clock.now() + BUSY_WAIT_MS;
  const leaseEnd = held.leaseUntil === undefined ? Number.POSITIVE_INFINITY : Date.parse(held.leaseUntil);
  while (ports.clock.now() + BUSY_POLL_MS <= until) {
    await ports.clock.sleep(BUSY_POLL_MS);
    const record = await ports.store.get(event.backendId, event.id);
    if (record?.status === 'done') return record;
    if (record === undefined || record.leaseUntil === undefined || ports.clock.now() >= leaseEnd) return 'claimable';
  }
  return undefined;
}

/** Decides and carries out the action; returns what to record and publish. */
async function act(event: BreakerEvent, ports: BreakerPorts, settings: BreakerSettings): Promise<BreakerEventData> {
  const data = initialData(event, settings.mode);
  const action = (taken: BreakerAction['taken'], pools: PoolAction[] = [], reason?: string): BreakerEventData => ({
    ...data,
    action: { mode: settings.mode, taken, pools, ...(reason === undefined ? {} : { reason }) },
  });
  // ALLOWED_SCOPES bounds what we touch: outside it, not even a read goes to ARM.
  if (!isInScope(event.backendId, settings.allowedScopes)) return action('none', [], 'ScopeNotAllowed');

  const prior = (await ports.store.events(event.backendId)).filter((r) => r.eventId !== event.id).map(priorEvent);
  const listing = await poolsListing(event, ports, settings);
  if (!listing.ok) return action('none', [], `PoolsUnavailable: ${listing.code}`);
  data.pools = listing.pools;
  if (isStale(event, prior)) return action('none', [], 'Stale');
  if (settings.mode === 'notify') return action('notify');

  if (event.kind === 'opened') {
    if (listing.pools.length === 0) return action(settings.mode === 'plan' ? 'plan' : 'none', [], 'NoPools');
    const dryRun = settings.mode === 'plan';
    if (!dryRun && drainsInWindow(prior, ports.clock.now(), settings.windowMs) >= settings.maxDrains) {
      return action('notify', [], 'DrainLimit');
    }
    const pools: PoolAction[] = [];
    for (const pool of listing.pools) pools.push(await drainPool(event, pool, ports, settings, dryRun));
    if (dryRun) return action('plan', pools);
    return pools.some((p) => p.result === 'drained') ? action('drain', pools) : action('none', pools, 'NothingDrained');
  }

  // Closed: restore what our drains of this backend changed (in plan mode nothing was drained: say what would be).
  const drains = (await ports.store.backendDrains(event.backendId)).filter(
    (d) => d.state === 'pending' || d.state === 'drained' || (d.state === 'closed' && d.closedBy === event.id),
  );
  if (settings.mode === 'plan') {
    return action(
      'plan',
      drains.map((d) => ({ pool: d.poolId, result: 'planned' as const })),
      drains.length === 0 ? 'NothingToRestore' : undefined,
    );
  }
  if (drains.length === 0) return action('none', [], 'NothingToRestore');
  const pools: PoolAction[] = [];
  for (const drain of drains) pools.push(await restoreDrain(event, drain, ports, settings));
  return pools.some((p) => p.result === 'restored')
    ? action('restore', pools)
    : action('none', pools, 'NothingRestored');
}

function priorEvent(record: BreakerRecord): PriorEvent {
  const prior: PriorEvent = {
    eventId: record.eventId,
    kind: record.state,
    rule: record.rule,
    eventTime: record.eventTime,
    drainedPools: record.action.pools.filter((p) => p.result === 'drained').length,
  };
  if (record.status === 'done' && record.processedAt !== undefined) prior.processedAt = record.processedAt;
  return prior;
}
