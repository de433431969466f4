/**
 * Circuit-breaker records in process memory: used when the app has no storage account (AzureWebJobsStorage unset),
 * where the change ledger is off too. Redeliveries to this process are still recognised; nothing survives a restart.
 */
import type { BreakerClaim, BreakerStore, DrainRecord } from '../../app/breaker-ports';
import type { BreakerEventData, BreakerRecord } from '../../domain/breaker-record';
import { backendPartition, eventRow, memberRow, poolPartition } from './breaker-entities';

export function createMemoryBreakerStore(): BreakerStore {
  const events = new Map<string, BreakerRecord>();
  const drains = new Map<string, DrainRecord>();
  let version = 0;
  const key = (backendId: string, eventId: string): string => `${backendPartition(backendId)}/${eventRow(eventId)}`;
  const save = (record: Omit<BreakerRecord, 'version'>): BreakerRecord => {
    const stored = { ...record, version: String(++version) };
    events.set(key(record.backend, record.eventId), stored);
    return stored;
  };
  const current = (record: BreakerRecord): boolean =>
    events.get(key(record.backend, record.eventId))?.version === record.version;
  return {
    claim(data: BreakerEventData, now: Date, leaseMs: number): Promise<BreakerClaim> {
      const existing = events.get(key(data.backend, data.eventId));
      const leaseUntil = new Date(now.getTime() + leaseMs).toISOString();
      if (existing === undefined) {
        const record = save({
          ...data,
          status: 'processing',
          receivedAt: now.toISOString(),
          leaseUntil,
          published: false,
        });
        return Promise.resolve({ kind: 'claimed', record });
      }
      if (existing.status === 'done') return Promise.resolve({ kind: 'done', record: existing });
      if (existing.leaseUntil !== undefined && Date.parse(existing.leaseUntil) > now.getTime()) {
        return Promise.resolve({ kind: 'busy', record: existing });
      }
      return Promise.resolve({ kind: 'claimed', record: save({ ...existing, leaseUntil }) });
    },
    get: (backendId, eventId) => Promise.resolve(events.get(key(backendId, eventId))),
    complete(record, data, now) {
      if (!current(record)) return Promise.reject(new Error(`Breaker event '${record.eventId}' changed meanwhile.`));
      const { leaseUntil: _lease, version: _v, ...rest } = record;
      return Promise.resolve(save({ ...rest, ...data, status: 'done', processedAt: now.toISOString() }));
    },
    release(record) {
      if (current(record)) {
        const { leaseUntil: _lease, version: _v, ...rest } = record;
        save(rest);
      }
      return Promise.resolve();
    },
    markPublished(record) {
      const stored = events.get(key(record.backend, record.eventId));
      if (stored !== undefined) events.set(key(record.backend, record.eventId), { ...stored, published: true });
      return Promise.resolve();
    },
    events: (backendId) =>
      Promise.resolve([...events.values()].filter((r) => r.backend.toLowerCase() === backendId.toLowerCase())),
    poolDrains: (poolId) =>
      Promise.resolve([...drains.values()].filter((d) => d.poolId.toLowerCase() === poolId.toLowerCase())),
    backendDrains: (backendId) =>
      Promise.resolve([...drains.values()].filter((d) => d.backendId.toLowerCase() === backendId.toLowerCase())),
    // Process memory ends with the process; nothing to age out.
    purge: () => Promise.resolve(0),
    putDrain(drain) {
      drains.set(`${poolPartition(drain.poolId)}/${memberRow(drain.memberId)}`, { ...drain });
      return Promise.resolve();
    },
  };
}
