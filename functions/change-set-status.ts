import { CHANGE_SET_OPERATION, itemRequestId, MAX_SET_CHANGES } from '../shared/domain/contract/change-set';
import { redactSecrets } from '../shared/domain/redact';
import type { ChangeLedger, LedgerRecord } from '../shared/app/ledger-ports';

/**
 * The status of a change set: its state and, once decided, its outcome (with every item); while it is still being
 * applied, the state of each item recorded so far (an item has a record from the moment it is started).
 */
export async function changeSetStatus(ledger: ChangeLedger, record: LedgerRecord): Promise<Record<string, unknown>> {
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
