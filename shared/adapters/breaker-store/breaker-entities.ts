/**
 * How circuit-breaker records are stored as Azure Table entities, next to the change ledger (same storage account,
 * table `<LEDGER_TABLE>breakers`):
 * - an event: partition = the backend (so a backend's history is one partition query), row = `e~<event id>`;
 * - a drain: partition = the pool, row = the member, holding the snapshot of the member's original values.
 * Keys spell every character outside `[A-Za-z0-9._:-]` as `~XXXX` (Table keys forbid `/`), lower-cased ids.
 */
import * as z from 'zod';
import { BreakerActionSchema, type BreakerRecord } from '../../domain/breaker-record';
import type { DrainRecord, PoolWrite } from '../../app/breaker-ports';

export function tableKey(text: string): string {
  return text.replace(/[^A-Za-z0-9._:-]/g, (c) => `~${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export const backendPartition = (backendId: string): string => `b~${tableKey(backendId.toLowerCase())}`;
export const eventRow = (eventId: string): string => `e~${tableKey(eventId)}`;
export const poolPartition = (poolId: string): string => `p~${tableKey(poolId.toLowerCase())}`;
export const memberRow = (memberId: string): string => tableKey(memberId.toLowerCase());

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

export function toEventEntity(record: Omit<BreakerRecord, 'version'>, writeId: string): Entity {
  const entity: Entity = {
    partitionKey: backendPartition(record.backend),
    rowKey: eventRow(record.eventId),
    kind: 'event',
    eventId: record.eventId,
    eventType: record.eventType,
    state: record.state,
    backend: record.backend,
    rule: record.rule,
    eventTime: record.eventTime,
    pools: JSON.stringify(record.pools),
    action: JSON.stringify(record.action),
    status: record.status,
    receivedAt: record.receivedAt,
    published: record.published,
    writeId,
  };
  if (record.tripDuration !== undefined) entity['tripDuration'] = record.tripDuration;
  if (record.processedAt !== undefined) entity['processedAt'] = record.processedAt;
  if (record.leaseUntil !== undefined) entity['leaseUntil'] = record.leaseUntil;
  return entity;
}

const json = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, ctx) => {
    const parsed = schema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    ctx.addIssue({ code: 'custom', message: 'invalid JSON value' });
    return z.NEVER;
  });

const StoredEvent = z.object({
  eventId: z.string(),
  eventType: z.string(),
  state: z.enum(['opened', 'closed']),
  backend: z.string(),
  rule: z.string(),
  tripDuration: z.string().optional(),
  eventTime: z.string(),
  pools: json(z.array(z.string())),
  action: json(BreakerActionSchema),
  status: z.enum(['processing', 'done']),
  receivedAt: z.string(),
  processedAt: z.string().optional(),
  leaseUntil: z.string().optional(),
  published: z.boolean(),
  writeId: z.string(),
  etag: z.string(),
});

export function fromEventEntity(entity: Record<string, unknown>): { record: BreakerRecord; writeId: string } {
  const { writeId, etag, tripDuration, processedAt, leaseUntil, ...rest } = StoredEvent.parse(entity);
  const record: BreakerRecord = { ...rest, version: etag };
  if (tripDuration !== undefined) record.tripDuration = tripDuration;
  if (processedAt !== undefined) record.processedAt = processedAt;
  if (leaseUntil !== undefined) record.leaseUntil = leaseUntil;
  return { record, writeId };
}

export function toDrainEntity(drain: DrainRecord): Entity {
  const entity: Entity = {
    partitionKey: poolPartition(drain.poolId),
    rowKey: memberRow(drain.memberId),
    kind: 'drain',
    backendKey: drain.backendId.toLowerCase(),
    backendId: drain.backendId,
    poolId: drain.poolId,
    memberId: drain.memberId,
    setPriority: drain.setPriority,
    openedBy: drain.openedBy,
    requestId: drain.requestId,
    write: JSON.stringify(drain.write),
    state: drain.state,
  };
  if (drain.originalPriority !== undefined) entity['originalPriority'] = drain.originalPriority;
  if (drain.originalWeight !== undefined) entity['originalWeight'] = drain.originalWeight;
  if (drain.closedBy !== undefined) entity['closedBy'] = drain.closedBy;
  if (drain.closeResult !== undefined) entity['closeResult'] = drain.closeResult;
  return entity;
}

const StoredDrain = z.object({
  backendId: z.string(),
  poolId: z.string(),
  memberId: z.string(),
  originalPriority: z.number().int().optional(),
  originalWeight: z.number().int().optional(),
  setPriority: z.number().int(),
  openedBy: z.string(),
  requestId: z.string(),
  write: json(z.custom<PoolWrite>((v) => typeof v === 'object' && v !== null)),
  state: z.enum(['pending', 'drained', 'failed', 'closed']),
  closedBy: z.string().optional(),
  closeResult: z.enum(['restored', 'left', 'skipped']).optional(),
});

export function fromDrainEntity(entity: Record<string, unknown>): DrainRecord {
  const parsed = StoredDrain.parse(entity);
  return Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== undefined)) as unknown as DrainRecord;
}
