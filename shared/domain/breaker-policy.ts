/**
 * What to do about a circuit-breaker event: the guards (stale events, the drain limit) and, per pool, the drain
 * (move the backend below every other member) and the restore (put its original priority and weight back, only where
 * our value is still there). Pure: values in, values out; the use case reads ARM and the ledger and writes.
 */
import { createHash } from 'node:crypto';
import type { BreakerKind } from './breaker-event';

/** A pool member as ARM lists it: `services[i]` of a Pool backend. */
export interface PoolMember {
  id: string;
  priority?: number;
  weight?: number;
}

/** What we changed in one pool, stored before the write so that Closed can restore it (and a redelivery reuse it). */
export interface DrainSnapshot {
  poolId: string;
  /** The member's id as the pool lists it. */
  memberId: string;
  /** The member's values before the drain; absent when the pool did not set them. */
  originalPriority?: number;
  originalWeight?: number;
  /** The priority we set. */
  setPriority: number;
}

/** One field of one member changed by a drain or restore. */
export interface MemberChange {
  path: string;
  from?: number;
  to?: number;
}

/** Why a pool (or the whole event) was not acted on. */
export type SkipReason =
  | 'NotAMember'
  | 'LastHealthyMember'
  | 'AlreadyDrained'
  | 'AlreadyBelowOthers'
  | 'ChangedSince'
  | 'NothingToRestore'
  | 'AlreadyRestored';

export type DrainDecision =
  | { kind: 'write'; services: PoolMember[]; snapshot: DrainSnapshot; changes: MemberChange[] }
  | { kind: 'skip'; reason: SkipReason };

export type RestoreDecision =
  { kind: 'write'; services: PoolMember[]; changes: MemberChange[] } | { kind: 'skip'; reason: SkipReason };

/** The highest (least preferred) priority ARM accepts. */
export const MAX_PRIORITY = 100;
/**
 * The priority of a member that sets none. Pools commonly leave it unset for "the first group"; assuming 1 (not 0)
 * errs on the side of moving the drained member further down, never into the others' group.
 */
export const DEFAULT_PRIORITY = 1;

const sameId = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** Pool members as the contract accepts them back (id, priority, weight), from ARM's `pool.services`. */
export function poolMembers(services: unknown): PoolMember[] | undefined {
  if (!Array.isArray(services)) return undefined;
  const members: PoolMember[] = [];
  for (const item of services) {
    if (typeof item !== 'object' || item === null) return undefined;
    const { id, priority, weight } = item as Record<string, unknown>;
    if (typeof id !== 'string') return undefined;
    const member: PoolMember = { id };
    if (typeof priority === 'number') member.priority = priority;
    if (typeof weight === 'number') member.weight = weight;
    members.push(member);
  }
  return members;
}

/** Whether the pool lists the backend (ARM ids compare case-insensitively). */
export function listsMember(services: readonly PoolMember[], backendId: string): boolean {
  return services.some((m) => sameId(m.id, backendId));
}

/**
 * The drain of `backendId` in one pool: its priority becomes one more than the largest other member's (at most
 * {@link MAX_PRIORITY}), so every gateway uses it only when all others are unavailable. Refused when no other member
 * is left undrained (`drained`: the ids we hold drained in this pool), when we already drained it, or when it already
 * sits below every other member.
 */
export function planDrain(
  poolId: string,
  services: readonly PoolMember[],
  backendId: string,
  drained: readonly string[],
): DrainDecision {
  const index = services.findIndex((m) => sameId(m.id, backendId));
  const member = services[index];
  if (member === undefined) return { kind: 'skip', reason: 'NotAMember' };
  if (drained.some((id) => sameId(id, backendId))) return { kind: 'skip', reason: 'AlreadyDrained' };
  const others = services.filter((_, i) => i !== index);
  const healthy = others.filter((m) => !drained.some((id) => sameId(id, m.id)));
  if (healthy.length === 0) return { kind: 'skip', reason: 'LastHealthyMember' };
  const lowest = Math.max(...others.map((m) => m.priority ?? DEFAULT_PRIORITY));
  const setPriority = Math.min(lowest + 1, MAX_PRIORITY);
  const current = member.priority ?? DEFAULT_PRIORITY;
  if (current >= setPriority) return { kind: 'skip', reason: 'AlreadyBelowOthers' };
  const snapshot: DrainSnapshot = { poolId, memberId: member.id, setPriority };
  if (member.priority !== undefined) snapshot.originalPriority = member.priority;
  if (member.weight !== undefined) snapshot.originalWeight = member.weight;
  const next = services.map((m, i) => (i === index ? { ...m, priority: setPriority } : { ...m }));
  const change: MemberChange = { path: `properties.pool.services[${index}].priority`, to: setPriority };
  if (member.priority !== undefined) change.from = member.priority;
  return { kind: 'write', services: next, snapshot, changes: [change] };
}

/**
 * The restore after Closed: the member's original priority and weight back, but only while its entry still has
 * what we set (our priority, the weight we left). Anything else means someone changed it since: leave it.
 */
export function planRestore(services: readonly PoolMember[], snapshot: DrainSnapshot): RestoreDecision {
  const index = services.findIndex((m) => sameId(m.id, snapshot.memberId));
  const member = services[index];
  if (member === undefined) return { kind: 'skip', reason: 'NotAMember' };
  if (member.priority === snapshot.originalPriority && member.weight === snapshot.originalWeight) {
    return { kind: 'skip', reason: 'AlreadyRestored' };
  }
  if (member.priority !== snapshot.setPriority || member.weight !== snapshot.originalWeight) {
    return { kind: 'skip', reason: 'ChangedSince' };
  }
  const restored: PoolMember = { id: member.id };
  if (snapshot.originalPriority !== undefined) restored.priority = snapshot.originalPriority;
  if (snapshot.originalWeight !== undefined) restored.weight = snapshot.originalWeight;
  const next = services.map((m, i) => (i === index ? restored : { ...m }));
  const change: MemberChange = { path: `properties.pool.services[${index}].priority`, from: snapshot.setPriority };
  if (snapshot.originalPriority !== undefined) change.to = snapshot.originalPriority;
  return { kind: 'write', services: next, changes: [change] };
}

/** What the ledger knows of an earlier event of the same backend, as far as the guards need it. */
export interface PriorEvent {
  eventId: string;
  kind: BreakerKind;
  rule: string;
  eventTime: string;
  /** When we processed it (ISO 8601); absent while it is being processed. */
  processedAt?: string;
  /** How many pools it drained. */
  drainedPools: number;
}

/**
 * True when an event of the same backend and rule with a later event time was already processed: this one is
 * recorded but must not act (deliveries are reordered; a Closed can arrive before its Opened).
 */
export function isStale(event: { id: string; rule: string; eventTime: string }, prior: readonly PriorEvent[]): boolean {
  const time = Date.parse(event.eventTime);
  return prior.some(
    (p) =>
      p.eventId !== event.id &&
      p.processedAt !== undefined &&
      p.rule.toLowerCase() === event.rule.toLowerCase() &&
      Date.parse(p.eventTime) > time,
  );
}

/** How many drains of the backend were processed within `windowMs` before `now` (epoch ms). */
export function drainsInWindow(prior: readonly PriorEvent[], now: number, windowMs: number): number {
  return prior.filter(
    (p) => p.drainedPools > 0 && p.processedAt !== undefined && Date.parse(p.processedAt) > now - windowMs,
  ).length;
}

/**
 * The requestId of the write of one pool for one event: derived from both, so a redelivered event never writes a
 * pool twice (the change ledger answers the second from its record), within the contract's 128 characters.
 */
export function breakerRequestId(eventId: string, poolId: string): string {
  const hash = createHash('sha256').update(`${eventId}\n${poolId.toLowerCase()}`).digest('hex');
  return `circuit-breaker-${hash.slice(0, 40)}`;
}
