/**
 * What we record and publish for every circuit-breaker event: the action taken (per pool), the ledger record, and
 * our CloudEvent `com.apim-backend-changes.circuit-breaker.opened|closed`. zod schemas are the source of truth.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { TraceExtensionShape } from './cloud-event';
import type { BreakerEvent } from './breaker-event';

export const BREAKER_EVENT_TYPE_PREFIX = 'com.apim-backend-changes.circuit-breaker';

export const BreakerModeSchema = z.enum(['notify', 'plan', 'drain']);
export type BreakerMode = z.infer<typeof BreakerModeSchema>;

const MemberChangeSchema = z.object({
  path: z.string(),
  from: z.number().optional(),
  to: z.number().optional(),
});

/** What happened to one pool that lists the backend. */
export const PoolActionSchema = z.object({
  pool: z.string().describe("The pool's ARM id"),
  result: z
    .enum(['drained', 'restored', 'planned', 'skipped', 'left', 'failed'])
    .describe(
      'drained/restored: written; planned: what drain would write (plan); skipped: nothing to do; left: someone ' +
        'changed the member since we drained it, so it was not restored; failed: the write failed',
    ),
  reason: z.string().optional().describe('Why it was skipped, left or failed (e.g. LastHealthyMember, ChangedSince)'),
  requestId: z.string().optional().describe('The change request of the write (its result event has the same id)'),
  status: z.string().optional().describe("The write's outcome status"),
  changes: z.array(MemberChangeSchema).optional(),
});
export type PoolAction = z.infer<typeof PoolActionSchema>;

/** The action taken for one event. */
export const BreakerActionSchema = z.object({
  mode: BreakerModeSchema.describe('CIRCUIT_BREAKER_ACTION when the event was processed'),
  taken: z
    .enum(['notify', 'plan', 'drain', 'restore', 'none'])
    .describe('notify: recorded and republished only; plan: dry run; drain/restore: pools written; none: see reason'),
  reason: z
    .string()
    .optional()
    .describe('Why less than the mode was done: Stale, DrainLimit, ScopeNotAllowed, NoPools, NothingToRestore'),
  pools: z.array(PoolActionSchema),
});
export type BreakerAction = z.infer<typeof BreakerActionSchema>;

/** The `data` of our circuit-breaker CloudEvent. */
export const BreakerEventDataSchema = z.object({
  eventId: z.string().describe('The id of the API Management event'),
  eventType: z.string().describe('Its type as received'),
  state: z.enum(['opened', 'closed']),
  backend: z.string().describe("The backend's ARM id"),
  rule: z.string(),
  tripDuration: z.string().optional().describe('ISO 8601 (API Management sends hh:mm:ss)'),
  eventTime: z.string(),
  pools: z.array(z.string()).describe('ARM ids of the pools that list the backend'),
  action: BreakerActionSchema,
});
export type BreakerEventData = z.infer<typeof BreakerEventDataSchema>;

export const BreakerResultEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().describe('Derived from the API Management event id: a republished event has the same id'),
  source: z.string(),
  type: z.enum([`${BREAKER_EVENT_TYPE_PREFIX}.opened`, `${BREAKER_EVENT_TYPE_PREFIX}.closed`]),
  subject: z.string().describe("The backend's ARM id"),
  time: z.string(),
  datacontenttype: z.literal('application/json'),
  data: BreakerEventDataSchema,
  ...TraceExtensionShape,
});
export type BreakerResultEvent = z.infer<typeof BreakerResultEventSchema>;

/** The ledger record of one breaker event. */
export interface BreakerRecord extends BreakerEventData {
  state: 'opened' | 'closed';
  /** `processing` while a delivery acts on it (under a lease); `done` once the action is recorded. */
  status: 'processing' | 'done';
  receivedAt: string;
  processedAt?: string;
  leaseUntil?: string;
  published: boolean;
  /** Storage version for optimistic concurrency; opaque. */
  version: string;
}

/** The record's event data (what is published). */
export function eventDataOf(record: BreakerEventData): BreakerEventData {
  const data: BreakerEventData = {
    eventId: record.eventId,
    eventType: record.eventType,
    state: record.state,
    backend: record.backend,
    rule: record.rule,
    eventTime: record.eventTime,
    pools: record.pools,
    action: record.action,
  };
  if (record.tripDuration !== undefined) data.tripDuration = record.tripDuration;
  return data;
}

/** The data of an incoming event before any action. */
export function initialData(event: BreakerEvent, mode: BreakerMode): BreakerEventData {
  const data: BreakerEventData = {
    eventId: event.id,
    eventType: event.type,
    state: event.kind,
    backend: event.backendId,
    rule: event.rule,
    eventTime: event.eventTime,
    pools: [],
    action: { mode, taken: 'none', pools: [] },
  };
  if (event.tripDuration !== undefined) data.tripDuration = event.tripDuration;
  return data;
}

/** Our CloudEvent for a recorded breaker event. Its id derives from the source event id (stable on republish). */
export function toBreakerResultEvent(data: BreakerEventData, source: string, time: Date): BreakerResultEvent {
  const h = createHash('sha256').update(`circuit-breaker\n${data.eventId}`).digest('hex');
  return {
    specversion: '1.0',
    id: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`,
    source,
    type: `${BREAKER_EVENT_TYPE_PREFIX}.${data.state}`,
    subject: data.backend,
    time: time.toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}
