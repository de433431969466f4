/**
 * The result event of a change set: one per set, beside the events of its applied items. CloudEvents 1.0,
 * structured JSON, `type` `com.apim-backend-changes.change-set.<status>`, `data` the set outcome (secrets redacted).
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { TraceExtensionShape } from './cloud-event';
import { SetOutcomeSchema, type SetOutcome } from './contract/change-set';

/** The CloudEvents `type` prefix of set events; the set's status is appended. */
export const SET_EVENT_TYPE_PREFIX = 'com.apim-backend-changes.change-set';

export const ChangeSetEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().describe('Derived from requestId and status, so a re-published set result has the same id'),
  source: z.string(),
  type: z.string().describe(`${SET_EVENT_TYPE_PREFIX}.{succeeded|failed|rejected|rolledBack}`),
  time: z.string(),
  datacontenttype: z.literal('application/json'),
  data: SetOutcomeSchema,
  ...TraceExtensionShape,
});

export type ChangeSetEvent = z.infer<typeof ChangeSetEventSchema>;

/** A stable, UUID-shaped id per set result (requestId, status, error code), distinct from any item's event id. */
export function setEventIdFor(outcome: Pick<SetOutcome, 'requestId' | 'status' | 'error'>): string {
  const key = ['change-set', outcome.requestId, outcome.status, outcome.error?.code ?? ''];
  const h = createHash('sha256').update(key.join('\n')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
