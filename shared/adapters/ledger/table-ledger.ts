/**
 * The change ledger on Azure Table Storage (the Functions app's own storage account).
 *
 * Race safety rests on the Table service's conditional writes: a new record is inserted (`createEntity`: a second
 * insert of the same key gets 409), and every change replaces the entity on the ETag it was read with (a stale
 * ETag gets 412). The loser of a race re-reads and answers from what the winner wrote.
 */
import { randomUUID } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { isSetOutcome, type SetOutcome } from '../../domain/contract/change-set';
import type { Outcome } from '../../domain/contract/outcome';
import { fromLedgerEntity, LEDGER_ROW_KEY, ledgerPartitionKey, toLedgerEntity } from './ledger-entity';
import type {
  ChangeLedger,
  ClaimInput,
  ClaimResult,
  LedgerOrigin,
  LedgerRecord,
  RegisterInput,
  RegisterResult,
  WriteIntent,
} from '../../app/ledger-ports';
import { lazyAsync, type LazyAsync } from '../lazy-async';
import { createLedgerTableClient, type LedgerTableOptions } from './table-connection';
import { LedgerConflictError, TERMINAL_STATES } from '../../domain/ledger-state';
import {
  claimed,
  closed,
  completed,
  newRecord,
  registered,
  released,
  setCompleted,
  standingOf,
  withIntent,
  type NextRecord,
  type Standing,
} from './ledger-transitions';
import { requireEtag, statusOf } from '../table-answers';

/** Bound on each storage call, the SDK's own retries included. */
const OPERATION_TIMEOUT_MS = 15_000;

/**
 * A ledger on the table `tableName`, created on first use. Storage failures (other than the 404/409/412 the ledger
 * handles itself) and timeouts are thrown, so that the trigger retries.
 */
export function createTableLedger(options: LedgerTableOptions): ChangeLedger {
  return new TableLedger(createLedgerTableClient(options));
}

/** Rounds of read-then-write a claim makes before giving up on a record that keeps changing under it. */
const CLAIM_ROUNDS = 5;
/** Parallel deletes while purging. */
const PURGE_CONCURRENCY = 8;
const PURGE_PAGE_SIZE = 1000;

type Stored = { record: LedgerRecord; writeId: string };
type WriteResult = { ok: true; record: LedgerRecord } | { ok: false; current: LedgerRecord | undefined };

class TableLedger implements ChangeLedger {
  private readonly table: LazyAsync<void>;

  constructor(private readonly client: TableClient) {
    this.table = lazyAsync(() =>
      client.createTable({ abortSignal: this.signal() }).catch((error: unknown) => {
        if (statusOf(error) !== 409) throw error; // 409 TableAlreadyExists (the SDK usually swallows it already)
      }),
    );
  }

  async claim(input: ClaimInput): Promise<ClaimResult> {
    const answer = await this.takeOrAnswer(input, newRecord(input, input.leaseMs), (record) => claimed(record, input));
    return answer.kind === 'taken'
      ? { kind: 'claimed', record: answer.record }
      : { kind: answer.kind, record: answer.record };
  }

  async register(input: RegisterInput): Promise<RegisterResult> {
    const answer = await this.takeOrAnswer(input, newRecord(input), (record) =>
      record.state === 'received' ? undefined : registered(record, input),
    );
    return answer.kind === 'taken'
      ? { kind: 'registered', record: answer.record }
      : { kind: answer.kind, record: answer.record };
  }

  /**
   * Inserts `fresh`, or answers from the stored record (conflict, done, busy), or writes `next(record)` over an
   * idle one (undefined: it is fine as it is). Race-safe: the loser of an insert or replace re-reads and answers.
   */
  private async takeOrAnswer(
    input: RegisterInput,
    fresh: NextRecord,
    next: (record: LedgerRecord) => NextRecord | undefined,
  ): Promise<{ kind: 'taken' | Exclude<Standing, 'idle'>; record: LedgerRecord }> {
    await this.ensureTable();
    // The id of our previous write when it ended in 409/412: if the SDK retried a write that had in fact landed,
    // the record we read back carries it, and the record is ours.
    let ourWrite: string | undefined;
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const stored = await this.read(input.requestId);
      if (stored === undefined) {
        ourWrite = randomUUID();
        const inserted = await this.insert(fresh, ourWrite);
        if (inserted !== undefined) return { kind: 'taken', record: inserted };
        continue; // someone inserted first: read what they wrote
      }
      const { record, writeId } = stored;
      if (ourWrite !== undefined && writeId === ourWrite) return { kind: 'taken', record };
      const standing = standingOf(record, input);
      if (standing !== 'idle') return { kind: standing, record };
      const wanted = next(record);
      if (wanted === undefined) return { kind: 'taken', record };
      ourWrite = randomUUID();
      const written = await this.replace(record, wanted, ourWrite);
      if (written.ok) return { kind: 'taken', record: written.record };
    }
    throw new Error(`Could not claim request '${input.requestId}': its ledger record kept changing.`);
  }

  async complete(
    record: LedgerRecord,
    outcome: Outcome | SetOutcome,
    extra: { etagBefore?: string; now: Date; retryable?: boolean; clearIntent?: boolean },
  ): Promise<LedgerRecord> {
    const next = isSetOutcome(outcome) ? setCompleted(record, outcome, extra.now) : completed(record, outcome, extra);
    return this.write(record, next);
  }

  recordIntent(record: LedgerRecord, intent: WriteIntent, now: Date): Promise<LedgerRecord> {
    return this.write(record, withIntent(record, intent, now));
  }

  close(record: LedgerRecord, outcome: Outcome, now: Date): Promise<LedgerRecord> {
    return this.write(record, closed(record, outcome, now));
  }

  async stalled(origin: LedgerOrigin, now: Date, limit: number): Promise<LedgerRecord[]> {
    await this.ensureTable();
    const filter = odata`RowKey eq ${LEDGER_ROW_KEY} and state eq 'applying' and origin eq ${origin} and leaseUntil lt ${now.toISOString()}`;
    const found: LedgerRecord[] = [];
    for await (const entity of this.client.listEntities({ queryOptions: { filter }, abortSignal: this.signal() })) {
      found.push(fromLedgerEntity(entity).record);
      if (found.length >= limit) break;
    }
    return found;
  }

  release(
    record: LedgerRecord,
    attempts: number,
    now: Date,
    options: { clearIntent?: boolean } = {},
  ): Promise<LedgerRecord> {
    return this.write(record, released(record, attempts, now, options));
  }

  /** Replaces `record` with `next` on its version; {@link LedgerConflictError} when it changed meanwhile. */
  private async write(record: LedgerRecord, next: NextRecord): Promise<LedgerRecord> {
    await this.ensureTable();
    const written = await this.replace(record, next, randomUUID());
    if (!written.ok) throw new LedgerConflictError(record.requestId);
    return written.record;
  }

  async markPublished(record: LedgerRecord, now: Date): Promise<LedgerRecord> {
    await this.ensureTable();
    let current: LedgerRecord | undefined = record;
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      if (current === undefined || !TERMINAL_STATES.has(current.state)) break;
      if (current.published) return current;
      const { version: _version, ...rest } = current;
      const written = await this.replace(
        current,
        { ...rest, published: true, updatedAt: now.toISOString() },
        randomUUID(),
      );
      if (written.ok) return written.record;
      // Changed meanwhile (another delivery published too, or the record was read stale): look again.
      current = written.current;
    }
    throw new LedgerConflictError(
      record.requestId,
      `Cannot mark request '${record.requestId}' published: its ledger record is not terminal (or is gone).`,
    );
  }

  async get(requestId: string): Promise<LedgerRecord | undefined> {
    await this.ensureTable();
    return (await this.read(requestId))?.record;
  }

  async unpublished(olderThan: Date, limit: number): Promise<LedgerRecord[]> {
    await this.ensureTable();
    const filter = odata`RowKey eq ${LEDGER_ROW_KEY} and published eq false and updatedAt lt ${olderThan.toISOString()}`;
    const found: LedgerRecord[] = [];
    for await (const entity of this.client.listEntities({ queryOptions: { filter }, abortSignal: this.signal() })) {
      const record = fromLedgerEntity(entity).record;
      if (TERMINAL_STATES.has(record.state)) found.push(record);
      if (found.length >= limit) break;
    }
    return found;
  }

  async purge(cutoff: Date): Promise<number> {
    await this.ensureTable();
    const filter = odata`RowKey eq ${LEDGER_ROW_KEY} and updatedAt lt ${cutoff.toISOString()}`;
    let deleted = 0;
    let continuationToken: string | undefined;
    do {
      // One page per listing, so that each page request gets its own bounded signal.
      const pages = this.client
        .listEntities({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] }, abortSignal: this.signal() })
        .byPage({ maxPageSize: PURGE_PAGE_SIZE, ...(continuationToken === undefined ? {} : { continuationToken }) });
      const page = await pages.next();
      if (page.done === true) break;
      const entities = page.value;
      continuationToken = entities.continuationToken;
      for (let start = 0; start < entities.length; start += PURGE_CONCURRENCY) {
        const batch = entities.slice(start, start + PURGE_CONCURRENCY);
        const results = await Promise.all(
          batch.map((entity) => this.deleteIfUnchanged(entity.partitionKey, entity.rowKey, entity.etag)),
        );
        deleted += results.filter(Boolean).length;
      }
    } while (continuationToken !== undefined);
    return deleted;
  }

  /** Deletes on the listed ETag; false when the record changed (kept) or is already gone. */
  private async deleteIfUnchanged(
    partitionKey: string | undefined,
    rowKey: string | undefined,
    etag: string,
  ): Promise<boolean> {
    if (partitionKey === undefined || rowKey === undefined) return false; // we selected the keys: not expected
    try {
      await this.client.deleteEntity(partitionKey, rowKey, { etag, abortSignal: this.signal() });
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 412) return false;
      throw error;
    }
  }

  private async read(requestId: string): Promise<Stored | undefined> {
    try {
      const entity = await this.client.getEntity(ledgerPartitionKey(requestId), LEDGER_ROW_KEY, {
        abortSignal: this.signal(),
      });
      return fromLedgerEntity(entity);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Inserts a new record; undefined when one exists already (409). */
  private async insert(record: NextRecord, writeId: string): Promise<LedgerRecord | undefined> {
    try {
      const response = await this.client.createEntity(toLedgerEntity(record, writeId), { abortSignal: this.signal() });
      return { ...record, version: requireEtag(response.etag) };
    } catch (error) {
      if (statusOf(error) === 409) return undefined;
      throw error;
    }
  }

  /**
   * Replaces the record on the version it was read with. On 412/404 it re-reads: when the stored record carries
   * `writeId`, our write landed (its answer was lost and the SDK retried it into a 412), so it succeeded.
   */
  private async replace(previous: LedgerRecord, next: NextRecord, writeId: string): Promise<WriteResult> {
    try {
      const response = await this.client.updateEntity(toLedgerEntity(next, writeId), 'Replace', {
        etag: previous.version,
        abortSignal: this.signal(),
      });
      return { ok: true, record: { ...next, version: requireEtag(response.etag) } };
    } catch (error) {
      const status = statusOf(error);
      if (status !== 412 && status !== 404) throw error;
      const current = await this.read(previous.requestId);
      if (current !== undefined && current.writeId === writeId) return { ok: true, record: current.record };
      return { ok: false, current: current?.record };
    }
  }

  /** Creates the table once per ledger (a failed attempt is forgotten, so the next call tries again). */
  private ensureTable(): Promise<void> {
    return this.table.get();
  }

  /** A signal for one storage call: its timeout. */
  private signal(): AbortSignal {
    return AbortSignal.timeout(OPERATION_TIMEOUT_MS);
  }
}
