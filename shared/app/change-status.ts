/**
 * `GET /api/backend-changes/{requestId}`: what happened to a change or a change set — its state in the ledger and,
 * once decided, its outcome (secrets redacted). The fingerprint and the record's version are internal: never shown.
 */
import { REQUEST_ID_PATTERN } from '../domain/contract/change-request';
import {
  CHANGE_SET_OPERATION,
  ITEM_REQUEST_ID_PATTERN,
  itemRequestId,
  MAX_SET_CHANGES,
} from '../domain/contract/change-set';
import { redactSecrets } from '../domain/redact';
import type { ChangeLedger, LedgerRecord } from './ledger-ports';

/** The answer to a status query. */
export type ChangeStatus =
  | { kind: 'invalidRequestId' }
  /** No ledger is configured: nothing is recorded. */
  | { kind: 'ledgerDisabled' }
  /** Unknown, or older than the retention. */
  | { kind: 'notFound'; requestId: string }
  | { kind: 'found'; body: Record<string, unknown> };

export async function changeStatus(ledger: ChangeLedger | undefined, requestId: string): Promise<ChangeStatus> {
  if (!REQUEST_ID_PATTERN.test(requestId) && !ITEM_REQUEST_ID_PATTERN.test(requestId)) {
    return { kind: 'invalidRequestId' };
  }
  if (ledger === undefined) return { kind: 'ledgerDisabled' };
  const record = await ledger.get(requestId);
  if (record === undefined) return { kind: 'notFound', requestId };
  if (record.operation === CHANGE_SET_OPERATION) return { kind: 'found', body: await changeSetStatus(ledger, record) };
  const body: Record<string, unknown> = {
    requestId: record.requestId,
    state: record.state,
    operation: record.operation,
    target: record.target,
    attempts: record.attempts,
    deliveries: record.deliveries,
    published: record.published,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
  if (record.outcome !== undefined) body['outcome'] = redactSecrets(record.outcome);
  return { kind: 'found', body };
}

/**
 * The status of a change set: its state and, once decided, its outcome (with every item); while it is still being
 * applied, the state of each item recorded so far (an item has a record from the moment it is started).
 */
async function changeSetStatus(ledger: ChangeLedger, record: LedgerRecord): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {
    requestId: record.requestId,
    kind: CHANGE_SET_OPERATION,
    state: record.state,
    deliveries: record.deliveries,
    published: record.published,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
  if (record.setOutcome !== undefined) {
    body['outcome'] = redactSecrets(record.setOutcome);
    return body;
  }
  // Items run in dependency order, not by index: look each one up (point reads, in parallel).
  const ids = Array.from({ length: MAX_SET_CHANGES }, (_, index) => itemRequestId(record.requestId, index));
  const items = await Promise.all(ids.map((id) => ledger.get(id)));
  body['items'] = items.flatMap((item, index) =>
    item === undefined
      ? []
      : [
          {
            index,
            requestId: item.requestId,
            state: item.state,
            operation: item.operation,
            target: item.target,
            ...(item.outcome === undefined ? {} : { outcome: redactSecrets(item.outcome) }),
          },
        ],
  );
  return body;
}
