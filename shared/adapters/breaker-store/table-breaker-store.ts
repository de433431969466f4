/**
 * The circuit-breaker records on Azure Table Storage, beside the change ledger. Race safety as in the ledger: an
 * event is inserted once (a second insert gets 409: a redelivery or a concurrent duplicate), and a claim is taken
 * over only on the ETag it was read with.
 */
import { randomUUID } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import type { BreakerClaim, BreakerStore, DrainRecord } from '../../app/breaker-ports';
import type { BreakerEventData, BreakerRecord } from '../../domain/breaker-record';
import { createLedgerTableClient, type LedgerTableOptions } from '../ledger/table-connection';
import {
  backendPartition,
  eventRow,
  fromDrainEntity,
  fromEventEntity,
  poolPartition,
  toDrainEntity,
  toEventEntity,
} from './breaker-entities';
import { requireEtag, statusOf } from '../table-answers';
import { lazyAsync, type LazyAsync } from '../lazy-async';

/** The breaker table's name: the ledger table's name + `breakers` (within the 63 characters a name may have). */
export function breakerTableName(ledgerTable: string): string {
  return `${ledgerTable.slice(0, 63 - 'breakers'.length)}breakers`;
}

const CLAIM_ROUNDS = 5;
const TIMEOUT_MS = 15_000;

export function createTableBreakerStore(options: LedgerTableOptions): BreakerStore {
  return new TableBreakerStore(createLedgerTableClient({ ...options, tableName: breakerTableName(options.tableName) }));
}

class TableBreakerStore implements BreakerStore {
  /** Created once per store; a failed attempt is forgotten, so the next call tries again. */
  private readonly table: LazyAsync<void>;

  constructor(private readonly client: TableClient) {
    this.table = lazyAsync(() =>
      client.createTable({ abortSignal: signal() }).catch((error: unknown) => {
        if (statusOf(error) !== 409) throw error; // 409 TableAlreadyExists
      }),
    );
  }

  async claim(data: BreakerEventData, now: Date, leaseMs: number): Promise<BreakerClaim> {
    await this.ensureTable();
    const leaseUntil = new Date(now.getTime() + leaseMs).toISOString();
    let ourWrite: string | undefined;
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const stored = await this.read(data.backend, data.eventId);
      if (stored === undefined) {
        ourWrite = randomUUID();
        const fresh: Omit<BreakerRecord, 'version'> = {
          ...data,
          status: 'processing',
          receivedAt: now.toISOString(),
          leaseUntil,
          published: false,
        };
        try {
          const response = await this.client.createEntity(toEventEntity(fresh, ourWrite), { abortSignal: signal() });
          return { kind: 'claimed', record: { ...fresh, version: requireEtag(response.etag) } };
        } catch (error) {
          if (statusOf(error) !== 409) throw error;
          continue; // another delivery inserted first (or the SDK retried ours): read what is there
        }
      }
      const { record, writeId } = stored;
      if (ourWrite !== undefined && writeId === ourWrite) return { kind: 'claimed', record };
      if (record.status === 'done') return { kind: 'done', record };
      if (record.leaseUntil !== undefined && Date.parse(record.leaseUntil) > now.getTime()) {
        return { kind: 'busy', record };
      }
      // Released, or the delivery holding it crashed: take it over on the version we read.
      ourWrite = randomUUID();
      const { version, ...rest } = record;
      const next = { ...rest, leaseUntil };
      try {
        const response = await this.client.updateEntity(toEventEntity(next, ourWrite), 'Replace', {
          etag: version,
          abortSignal: signal(),
        });
        return { kind: 'claimed', record: { ...next, version: requireEtag(response.etag) } };
      } catch (error) {
        if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
      }
    }
    throw new Error(`Could not claim circuit-breaker event '${data.eventId}': its record kept changing.`);
  }

  async get(backendId: string, eventId: string): Promise<BreakerRecord | undefined> {
    await this.ensureTable();
    return (await this.read(backendId, eventId))?.record;
  }

  async complete(record: BreakerRecord, data: BreakerEventData, now: Date): Promise<BreakerRecord> {
    const { version, leaseUntil: _lease, ...rest } = record;
    const next: Omit<BreakerRecord, 'version'> = {
      ...rest,
      ...data,
      status: 'done',
      processedAt: now.toISOString(),
    };
    const response = await this.client.updateEntity(toEventEntity(next, randomUUID()), 'Replace', {
      etag: version,
      abortSignal: signal(),
    });
    return { ...next, version: requireEtag(response.etag) };
  }

  async release(record: BreakerRecord): Promise<void> {
    const { version, leaseUntil: _lease, ...rest } = record;
    try {
      await this.client.updateEntity(toEventEntity(rest, randomUUID()), 'Replace', {
        etag: version,
        abortSignal: signal(),
      });
    } catch (error) {
      if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
    }
  }

  async markPublished(record: BreakerRecord): Promise<void> {
    await this.client.updateEntity(
      { partitionKey: backendPartition(record.backend), rowKey: eventRow(record.eventId), published: true },
      'Merge',
      { etag: '*', abortSignal: signal() },
    );
  }

  async events(backendId: string): Promise<BreakerRecord[]> {
    await this.ensureTable();
    const filter = odata`PartitionKey eq ${backendPartition(backendId)} and kind eq ${'event'}`;
    const records: BreakerRecord[] = [];
    for await (const entity of this.client.listEntities({ queryOptions: { filter }, abortSignal: signal() })) {
      records.push(fromEventEntity(entity).record);
    }
    return records;
  }

  async poolDrains(poolId: string): Promise<DrainRecord[]> {
    return this.drains(odata`PartitionKey eq ${poolPartition(poolId)} and kind eq ${'drain'}`);
  }

  async backendDrains(backendId: string): Promise<DrainRecord[]> {
    return this.drains(odata`kind eq ${'drain'} and backendKey eq ${backendId.toLowerCase()}`);
  }

  async putDrain(drain: DrainRecord): Promise<void> {
    await this.ensureTable();
    await this.client.upsertEntity(toDrainEntity(drain), 'Replace', { abortSignal: signal() });
  }

  async purge(cutoff: Date): Promise<number> {
    await this.ensureTable();
    const filters = [
      odata`kind eq ${'event'} and status eq ${'done'} and Timestamp lt ${cutoff}`,
      odata`kind eq ${'drain'} and state eq ${'closed'} and Timestamp lt ${cutoff}`,
      odata`kind eq ${'drain'} and state eq ${'failed'} and Timestamp lt ${cutoff}`,
    ];
    let deleted = 0;
    for (const filter of filters) {
      const query = { filter, select: ['PartitionKey', 'RowKey'] };
      for await (const entity of this.client.listEntities({ queryOptions: query, abortSignal: signal() })) {
        try {
          // On the listed ETag: a record written meanwhile is kept.
          await this.client.deleteEntity(entity.partitionKey!, entity.rowKey!, {
            etag: entity.etag,
            abortSignal: signal(),
          });
          deleted++;
        } catch (error) {
          if (statusOf(error) !== 404 && statusOf(error) !== 412) throw error;
        }
      }
    }
    return deleted;
  }

  private async drains(filter: string): Promise<DrainRecord[]> {
    await this.ensureTable();
    const found: DrainRecord[] = [];
    for await (const entity of this.client.listEntities({ queryOptions: { filter }, abortSignal: signal() })) {
      found.push(fromDrainEntity(entity));
    }
    return found;
  }

  private async read(backendId: string, eventId: string) {
    try {
      const entity = await this.client.getEntity(backendPartition(backendId), eventRow(eventId), {
        abortSignal: signal(),
      });
      return fromEventEntity(entity);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  private ensureTable(): Promise<void> {
    return this.table.get();
  }
}

/** A bound on each storage call, the SDK's own retries included. */
const signal = (): AbortSignal => AbortSignal.timeout(TIMEOUT_MS);
