/**
 * The pool side of a breaker event: find the pools that list the backend, and drain, restore or plan in each.
 * Every write is an `update` through the change engine and ledger, conditional on the ETag just read, with a
 * requestId derived from the event id and the pool; the snapshot of the original values is stored first.
 */
import { parseResourceId, type BackendTarget } from '../domain/backend-id';
import type { BreakerEvent } from '../domain/breaker-event';
import {
  breakerRequestId,
  listsMember,
  planDrain,
  planRestore,
  poolMembers,
  type MemberChange,
  type PoolMember,
} from '../domain/breaker-policy';
import type { PoolAction } from '../domain/breaker-record';
import { isInScope } from '../domain/scope-policy';
import { isRecord } from '../domain/is-record';
import {
  BreakerRetryError,
  type BreakerPorts,
  type BreakerSettings,
  type DrainRecord,
  type PoolWrite,
} from './breaker-ports';

/** Re-reads after a 412 (someone wrote the pool between our read and our write) before giving up on a pool. */
const WRITE_ROUNDS = 3;

/** The ids of the pools of the backend's service (or workspace) that list it. Throws to retry when ARM is busy. */
export async function poolsListing(event: BreakerEvent, ports: BreakerPorts, settings: BreakerSettings) {
  const listed = await ports.arm.list(event.backend, { deadline: ports.clock.now() + settings.deadlineMs });
  if (listed.kind === 'transient') throw new BreakerRetryError(`Listing the backends failed: ${listed.code}`);
  if (listed.kind === 'armError') return { ok: false as const, code: listed.error.code };
  const pools: string[] = [];
  for (const item of listed.body.value) {
    if (!isRecord(item) || typeof item['id'] !== 'string' || !isRecord(item['properties'])) continue;
    const props = item['properties'];
    if (typeof props['type'] !== 'string' || props['type'].toLowerCase() !== 'pool') continue;
    const services = poolMembers(isRecord(props['pool']) ? props['pool']['services'] : undefined);
    if (services !== undefined && listsMember(services, event.backendId)) pools.push(item['id']);
  }
  return { ok: true as const, pools };
}

type PoolRead =
  { kind: 'ok'; target: BackendTarget; services: PoolMember[]; etag: string } | { kind: 'fail'; action: PoolAction };

async function readPool(poolId: string, ports: BreakerPorts, settings: BreakerSettings): Promise<PoolRead> {
  const parsed = parseResourceId(poolId);
  if (parsed?.kind !== 'backend')
    return { kind: 'fail', action: { pool: poolId, result: 'failed', reason: 'InvalidPoolId' } };
  const read = await ports.arm.get(parsed.target, { deadline: ports.clock.now() + settings.deadlineMs });
  if (read.kind === 'transient') throw new BreakerRetryError(`Reading pool failed: ${read.code}`);
  if (read.kind === 'armError')
    return { kind: 'fail', action: { pool: poolId, result: 'failed', reason: read.error.code } };
  const props = isRecord(read.body) && isRecord(read.body['properties']) ? read.body['properties'] : {};
  const services = poolMembers(isRecord(props['pool']) ? props['pool']['services'] : undefined);
  if (services === undefined || read.headers.etag === undefined) {
    return { kind: 'fail', action: { pool: poolId, result: 'skipped', reason: 'NotAPool' } };
  }
  return { kind: 'ok', target: parsed.target, services, etag: read.headers.etag };
}

function poolWrite(requestId: string, target: BackendTarget, etag: string, services: PoolMember[]): PoolWrite {
  return { requestId, target, ifMatch: etag, body: { properties: { type: 'Pool', pool: { services } } } };
}

const requestIdFor = (eventId: string, poolId: string, round: number): string =>
  `${breakerRequestId(eventId, poolId)}${round === 0 ? '' : `.${round + 1}`}`;

/** Sends one write; `precondition` when the pool changed since it was read (412), so the caller re-reads. */
async function send(write: PoolWrite, ports: BreakerPorts) {
  const result = await ports.applyWrite(write);
  if (result.kind === 'retryLater') throw new BreakerRetryError(result.reason);
  const { outcome } = result;
  if (outcome.status === 'succeeded') return { kind: 'ok' as const, status: outcome.status };
  if (outcome.httpStatus === 412) return { kind: 'precondition' as const };
  return { kind: 'failed' as const, status: outcome.status, reason: outcome.error?.code ?? outcome.status };
}

const withChanges = (action: PoolAction, changes: MemberChange[]): PoolAction =>
  changes.length === 0 ? action : { ...action, changes };

/**
 * Drains the backend in one pool (or, with `dryRun`, says what a drain would change). A redelivery of the same
 * Opened event re-sends the stored request, so its requestId and body are the same and the ledger answers it.
 */
export async function drainPool(
  event: BreakerEvent,
  poolId: string,
  ports: BreakerPorts,
  settings: BreakerSettings,
  dryRun: boolean,
): Promise<PoolAction> {
  if (!isInScope(poolId, settings.allowedScopes)) return { pool: poolId, result: 'skipped', reason: 'ScopeNotAllowed' };
  const drains = await ports.store.poolDrains(poolId);
  const active = drains.filter((d) => d.state === 'pending' || d.state === 'drained');
  const isMine = (d: DrainRecord): boolean =>
    d.openedBy === event.id && d.backendId.toLowerCase() === event.backendId.toLowerCase();
  const mine = active.find(isMine);
  // Members held drained by other events (this backend's own row, if any, says AlreadyDrained).
  const drainedByOthers = active.filter((d) => !isMine(d)).map((d) => d.memberId);
  let resumed = mine;
  for (let round = 0; round < WRITE_ROUNDS; round++) {
    const read = await readPool(poolId, ports, settings);
    if (read.kind === 'fail') return read.action;
    let drain: DrainRecord;
    let changes: MemberChange[];
    if (resumed !== undefined) {
      // This event already stored a snapshot here (an earlier delivery stopped before recording the event).
      const member = read.services.find((m) => m.id.toLowerCase() === resumed!.memberId.toLowerCase());
      if (resumed.state === 'drained' || member?.priority === resumed.setPriority) {
        await ports.store.putDrain({ ...resumed, state: 'drained' });
        return { pool: poolId, result: 'drained', requestId: resumed.requestId, status: 'succeeded' };
      }
      drain = resumed;
      changes = [];
      resumed = undefined;
    } else {
      const decision = planDrain(poolId, read.services, event.backendId, drainedByOthers);
      if (decision.kind === 'skip') return { pool: poolId, result: 'skipped', reason: decision.reason };
      if (dryRun) return { pool: poolId, result: 'planned', changes: decision.changes };
      const requestId = requestIdFor(event.id, poolId, round);
      drain = {
        ...decision.snapshot,
        backendId: event.backendId,
        openedBy: event.id,
        requestId,
        write: poolWrite(requestId, read.target, read.etag, decision.services),
        state: 'pending',
      };
      changes = decision.changes;
      // The originals are stored before the write: a crash after it must not lose what to restore.
      await ports.store.putDrain(drain);
    }
    const sent = await send(drain.write, ports);
    if (sent.kind === 'ok') {
      await ports.store.putDrain({ ...drain, state: 'drained' });
      return withChanges({ pool: poolId, result: 'drained', requestId: drain.requestId, status: sent.status }, changes);
    }
    await ports.store.putDrain({ ...drain, state: 'failed' });
    if (sent.kind === 'failed') {
      return { pool: poolId, result: 'failed', requestId: drain.requestId, status: sent.status, reason: sent.reason };
    }
  }
  return { pool: poolId, result: 'failed', reason: 'PreconditionFailed' };
}

/** Restores one drain after Closed, unless someone changed the member since (then leaves it and says so). */
export async function restoreDrain(
  event: BreakerEvent,
  drain: DrainRecord,
  ports: BreakerPorts,
  settings: BreakerSettings,
): Promise<PoolAction> {
  const poolId = drain.poolId;
  if (drain.state === 'closed') {
    // A redelivery of this Closed event: report what the first delivery did.
    return {
      pool: poolId,
      result: drain.closeResult === 'restored' ? 'restored' : drain.closeResult === 'left' ? 'left' : 'skipped',
    };
  }
  if (!isInScope(poolId, settings.allowedScopes)) return { pool: poolId, result: 'skipped', reason: 'ScopeNotAllowed' };
  const close = (closeResult: NonNullable<DrainRecord['closeResult']>) =>
    ports.store.putDrain({ ...drain, state: 'closed', closedBy: event.id, closeResult });
  for (let round = 0; round < WRITE_ROUNDS; round++) {
    const read = await readPool(poolId, ports, settings);
    if (read.kind === 'fail') return read.action;
    const decision = planRestore(read.services, drain);
    if (decision.kind === 'skip') {
      const left = decision.reason === 'ChangedSince' || decision.reason === 'NotAMember';
      await close(left ? 'left' : 'skipped');
      return { pool: poolId, result: left ? 'left' : 'skipped', reason: decision.reason };
    }
    const requestId = requestIdFor(event.id, poolId, round);
    const sent = await send(poolWrite(requestId, read.target, read.etag, decision.services), ports);
    if (sent.kind === 'ok') {
      await close('restored');
      return withChanges({ pool: poolId, result: 'restored', requestId, status: sent.status }, decision.changes);
    }
    if (sent.kind === 'failed')
      return { pool: poolId, result: 'failed', requestId, status: sent.status, reason: sent.reason };
  }
  return { pool: poolId, result: 'failed', reason: 'PreconditionFailed' };
}
