/**
 * How a ledger record is stored as an Azure Table entity: keys, properties, and the outcome as ASCII JSON split
 * across `outcome0..outcomeN` (a string property holds at most 32K UTF-16 characters, an entity at most 1 MiB).
 */
import * as z from 'zod';
import { SetOutcomeSchema, type SetOutcome } from '../../domain/contract/change-set';
import { OutcomeSchema, type Outcome } from '../../domain/contract/outcome';
import { redactPlannedChange } from '../../domain/plan';
import { redactSecrets } from '../../domain/redact';
import type { LedgerRecord } from '../../app/ledger-ports';

/** Every record is alone in its partition (the requestId): no hot partition, and claims never contend across ids. */
export const LEDGER_ROW_KEY = 'ledger';

/** Characters per outcome property: under the 32,768 UTF-16 units a Table string property may hold. */
const CHUNK_CHARS = 30_000;

/**
 * The largest outcome JSON stored whole. Strings count 2 bytes a character against the 1 MiB entity limit, so
 * 400K characters (800 KB) leave room for the other properties. A larger outcome is stored without its `backend`
 * and `plan` (see {@link fitOutcome}).
 */
const MAX_OUTCOME_CHARS = 400_000;

const OUTCOME_PREFIX = 'outcome';

/** `intentEtag` of a write whose backend did not exist. ETags are quoted, so no ETag can be this. */
const ABSENT = 'absent';

/**
 * The partition key of a requestId. RequestIds are `[A-Za-z0-9._:-]`, all allowed in keys; anything else (Table keys
 * forbid `/ \ # ?` and control characters, and `'` and `%` are troublesome in URLs) is written `~XXXX` (its UTF-16
 * code unit in hex). `~` never passes through, so the encoding is one-to-one.
 */
export function ledgerPartitionKey(requestId: string): string {
  return requestId.replace(/[^A-Za-z0-9._:-]/g, (c) => `~${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The stored properties (the record without `version`, plus the id of the write that stored them). */
export type LedgerEntity = Record<string, unknown> & { partitionKey: string; rowKey: string };

/**
 * The entity for a record. `writeId` identifies this write, so that a write whose answer was lost (and which the
 * SDK retried into a 409/412) can be recognised as ours when the record is read back.
 */
export function toLedgerEntity(record: Omit<LedgerRecord, 'version'>, writeId: string): LedgerEntity {
  const entity: LedgerEntity = {
    partitionKey: ledgerPartitionKey(record.requestId),
    rowKey: LEDGER_ROW_KEY,
    requestId: record.requestId,
    fingerprint: record.fingerprint,
    state: record.state,
    attempts: record.attempts,
    deliveries: record.deliveries,
    published: record.published,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    writeId,
  };
  if (record.operation !== undefined) entity.operation = record.operation;
  if (record.target !== undefined) entity.target = record.target;
  if (record.etagBefore !== undefined) entity.etagBefore = record.etagBefore;
  if (record.etagAfter !== undefined) entity.etagAfter = record.etagAfter;
  if (record.leaseUntil !== undefined) entity.leaseUntil = record.leaseUntil;
  if (record.origin !== undefined) entity.origin = record.origin;
  if (record.retryable === true) entity.retryable = true;
  if (record.intent !== undefined) {
    entity.intentEtag = record.intent.etag ?? ABSENT;
    entity.intentHash = record.intent.stateHash;
  }
  if (record.outcome !== undefined || record.setOutcome !== undefined) {
    const stored = record.setOutcome === undefined ? fitOutcome(record.outcome!) : fitSetOutcome(record.setOutcome);
    if (record.setOutcome !== undefined) entity.outcomeKind = SET_OUTCOME_KIND;
    const chunks = splitChunks(asciiJson(stored), CHUNK_CHARS);
    entity.outcomeParts = chunks.length;
    chunks.forEach((chunk, index) => {
      entity[`${OUTCOME_PREFIX}${index}`] = chunk;
    });
  }
  return entity;
}

/** `outcomeKind` of an entity whose outcome is a change set's. */
const SET_OUTCOME_KIND_LITERAL = 'changeSet';
const SET_OUTCOME_KIND: typeof SET_OUTCOME_KIND_LITERAL = SET_OUTCOME_KIND_LITERAL;

const StoredSchema = z.object({
  requestId: z.string(),
  fingerprint: z.string(),
  state: z.enum(['received', 'applying', 'succeeded', 'failed', 'rejected']),
  operation: z.string().optional(),
  target: z.string().optional(),
  etagBefore: z.string().optional(),
  etagAfter: z.string().optional(),
  attempts: z.number().int(),
  deliveries: z.number().int(),
  published: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  leaseUntil: z.string().optional(),
  origin: z.enum(['http', 'queue']).optional(),
  retryable: z.boolean().optional(),
  intentEtag: z.string().optional(),
  intentHash: z.string().optional(),
  writeId: z.string(),
  outcomeParts: z.number().int().min(1).optional(),
  outcomeKind: z.literal(SET_OUTCOME_KIND_LITERAL).optional(),
  etag: z.string(),
});

/** Thrown when a stored entity is not a ledger record (written by something else, or corrupted). */
export class LedgerEntityError extends Error {
  override readonly name = 'LedgerEntityError';
}

/** The record (with its ETag as `version`) and the id of the write that stored it. */
export function fromLedgerEntity(entity: Record<string, unknown>): { record: LedgerRecord; writeId: string } {
  const parsed = StoredSchema.safeParse(entity);
  if (!parsed.success) {
    throw new LedgerEntityError(
      `Malformed ledger entity: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  }
  const { writeId, outcomeParts, outcomeKind, etag, intentEtag, intentHash, ...stored } = parsed.data;
  const record: LedgerRecord = { ...withoutUndefined(stored), version: etag };
  if (intentEtag !== undefined && intentHash !== undefined) {
    record.intent = { etag: intentEtag === ABSENT ? null : intentEtag, stateHash: intentHash };
  }
  if (outcomeParts !== undefined && outcomeKind === SET_OUTCOME_KIND) {
    record.setOutcome = readSetOutcome(readJson(entity, outcomeParts, stored.requestId), stored.requestId);
  } else if (outcomeParts !== undefined) {
    record.outcome = readOutcome(readJson(entity, outcomeParts, stored.requestId), stored.requestId);
  }
  return { record, writeId };
}

function readJson(entity: Record<string, unknown>, parts: number, requestId: string): unknown {
  let json = '';
  for (let index = 0; index < parts; index++) {
    const chunk = entity[`${OUTCOME_PREFIX}${index}`];
    if (typeof chunk !== 'string')
      throw new LedgerEntityError(`Ledger record '${requestId}' misses outcome part ${index}.`);
    json += chunk;
  }
  return JSON.parse(json);
}

function readSetOutcome(json: unknown, requestId: string): SetOutcome {
  const outcome = SetOutcomeSchema.safeParse(json);
  if (!outcome.success) throw new LedgerEntityError(`Ledger record '${requestId}' holds an invalid set outcome.`);
  return outcome.data;
}

function readOutcome(json: unknown, requestId: string): Outcome {
  const outcome = OutcomeSchema.safeParse(json);
  if (!outcome.success) throw new LedgerEntityError(`Ledger record '${requestId}' holds an invalid outcome.`);
  return outcome.data;
}

/**
 * The outcome as stored: secrets redacted (again: outcomes arrive redacted, this is defence in depth) and, when its
 * JSON is too large for an entity, without `backend` and `plan` (then without long error details), so that the
 * terminal state is always recorded rather than failing forever.
 */
export function fitOutcome(outcome: Outcome): Outcome {
  const redacted = redactOutcome(outcome);
  if (asciiJson(redacted).length <= MAX_OUTCOME_CHARS) return redacted;
  const { backend: _backend, plan: _plan, ...lean } = redacted;
  if (asciiJson(lean).length <= MAX_OUTCOME_CHARS) return lean;
  const { error, ...core } = lean;
  return error === undefined ? core : { ...core, error: { code: error.code, message: error.message.slice(0, 2000) } };
}

/**
 * A change set's outcome as stored: redacted, and when too large for an entity, without its items' `backend` and
 * `plan` (then their error details), so that the set's terminal state is always recorded.
 */
export function fitSetOutcome(outcome: SetOutcome): SetOutcome {
  // Dry runs (the only outcomes with plans) are never recorded: redacting by key path covers every item.
  const redacted = redactSecrets(outcome);
  const items = redacted.items;
  if (asciiJson(redacted).length <= MAX_OUTCOME_CHARS) return redacted;
  const lean = items.map(({ backend: _b, plan: _p, ...item }) => item);
  if (asciiJson({ ...redacted, items: lean }).length <= MAX_OUTCOME_CHARS) return { ...redacted, items: lean };
  const bare = lean.map(({ error, ...item }) =>
    error === undefined ? item : { ...item, error: { code: error.code, message: error.message.slice(0, 500) } },
  );
  return { ...redacted, items: bare };
}

/** Every secret of an outcome redacted, including values in plan changes (whose key path is in `change.path`). */
function redactOutcome(outcome: Outcome): Outcome {
  const redacted = redactSecrets(outcome);
  if (redacted.plan === undefined) return redacted;
  return { ...redacted, plan: { ...redacted.plan, changes: redacted.plan.changes.map(redactPlannedChange) } };
}

/**
 * JSON with every non-ASCII character written as a `\\uXXXX` escape. Pure ASCII cannot be corrupted by a layer that
 * splits multi-byte UTF-8 sequences (Azurite does, at 64 KiB boundaries of a request body), and chunk boundaries can
 * never fall inside a character.
 */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Splits `text` into pieces of at most `size` characters. */
function splitChunks(text: string, size: number): string[] {
  const chunks: string[] = [];
  for (let start = 0; start < text.length; start += size) chunks.push(text.slice(start, start + size));
  return chunks.length === 0 ? [''] : chunks;
}

/** Drops undefined properties (exactOptionalPropertyTypes: absent, never present-but-undefined). */
function withoutUndefined<T extends Record<string, unknown>>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
