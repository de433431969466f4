/**
 * A change-request message that Service Bus dead-lettered (its deliveries ran out, its lock kept expiring, or the
 * function kept crashing on it) will never be delivered again: its record would stay non-final and nobody would
 * hear of it. This closes the record as `failed` (`DeadLettered`, with the dead-letter reason) and publishes it.
 */
import { backendResourceId } from '../domain/backend-id';
import { parseChangeRequest, REQUEST_ID_PATTERN } from '../domain/contract/change-request';
import type { ErrorDetail } from '../domain/contract/error-response';
import type { Outcome } from '../domain/contract/outcome';
import type { ChangeLedger, LedgerRecord } from './ledger-ports';
import type { Logger } from './logger-ports';
import type { Clock } from './clock-ports';
import { isRecord } from '../domain/is-record';
import { closeAndPublish, stoppedOutcomeBase } from './finalise-stalled';
import { UNOBSERVABLE } from './write-intent';
import type { ResultPublisher } from './publisher-ports';
import { TERMINAL_STATES } from '../domain/ledger-state';

/** A dead-lettered message as the trigger hands it over. */
export interface DeadLetteredMessage {
  /** The parsed JSON body, or undefined when it was not JSON. */
  body: unknown;
  messageId: string | undefined;
  reason: string | undefined;
  description: string | undefined;
}

export interface DeadLetterDeps {
  ledger: ChangeLedger | undefined;
  publisher: ResultPublisher;
  clock: Clock;
  logger: Logger;
  /** The api-version of requests that name none (ARM_API_VERSION), as when the message was first delivered. */
  apiVersion?: string;
}

/** What became of the message: settled (complete it), or held by a live delivery (retry it later). */
export type DeadLetterResult = { kind: 'settled'; outcome?: Outcome } | { kind: 'busy'; requestId: string };

/** Longest wait for a delivery that still holds the record's lease (it may be finishing right now). */
const LEASE_WAIT_MAX_MS = 60_000;

/** Closes the record of a dead-lettered change request and publishes its `failed` event. */
export async function settleDeadLettered(
  message: DeadLetteredMessage,
  deps: DeadLetterDeps,
): Promise<DeadLetterResult> {
  const parsed = parseChangeRequest(
    message.body,
    deps.apiVersion === undefined ? {} : { defaultApiVersion: deps.apiVersion },
  );
  const requestId = requestIdOf(message, parsed.ok ? parsed.request.requestId : undefined);
  const now = (): Date => new Date(deps.clock.now());
  let record = deps.ledger === undefined ? undefined : await deps.ledger.get(requestId);
  if (record !== undefined && deps.ledger !== undefined && isLive(record, deps.clock.now())) {
    // The last delivery may still be running (its lock was lost, not its process): give it time to finish.
    const leaseEnd = Date.parse(record.leaseUntil ?? '');
    await sleep(deps, Math.min(leaseEnd - deps.clock.now(), LEASE_WAIT_MAX_MS));
    record = await deps.ledger.get(requestId);
    if (record !== undefined && isLive(record, deps.clock.now())) return { kind: 'busy', requestId };
  }
  if (record !== undefined && TERMINAL_STATES.has(record.state) && record.retryable !== true) {
    // Decided already; its own delivery or the republish sweep publishes it.
    if (!record.published && record.outcome !== undefined) await closeOnlyPublish(record, record.outcome, deps, now());
    return { kind: 'settled' };
  }

  const base: Omit<Outcome, 'status'> =
    record !== undefined ? stoppedOutcomeBase(record, now()) : { requestId, attempts: 0, durationMs: 0 };
  if (record === undefined && parsed.ok) {
    base.operation = parsed.request.operation;
    base.target = backendResourceId(parsed.request.target);
  }
  const details: ErrorDetail[] = [];
  if (message.description !== undefined && message.description !== '') {
    details.push({ code: message.reason ?? 'DeadLettered', message: message.description.slice(0, 1000) });
  }
  if (record?.intent !== undefined && record.state === 'applying') {
    details.push({
      code: record.intent.stateHash === UNOBSERVABLE ? 'OutcomeUnknown' : 'MayHaveBeenApplied',
      message: 'A delivery stopped after it may have written to ARM; check the backend before sending it again.',
    });
  }
  const outcome: Outcome = {
    ...base,
    status: 'failed',
    error: {
      code: 'DeadLettered',
      message: `The change request was dead-lettered (${message.reason ?? 'no reason given'}) and will not be applied.`,
      ...(details.length > 0 ? { details } : {}),
    },
  };
  if (record !== undefined && deps.ledger !== undefined) {
    const settled = await closeAndPublish(record, outcome, { ...deps, ledger: deps.ledger }, now());
    if (!settled) return { kind: 'busy', requestId };
    return { kind: 'settled', outcome };
  }
  await deps.publisher.publish(outcome);
  return { kind: 'settled', outcome };
}

/** The requestId of the message: the body's, else its messageId (either only when valid). */
function requestIdOf(message: DeadLetteredMessage, parsed: string | undefined): string {
  if (parsed !== undefined) return parsed;
  const raw = isRecord(message.body) ? message.body['requestId'] : undefined;
  if (typeof raw === 'string' && REQUEST_ID_PATTERN.test(raw)) return raw;
  if (message.messageId !== undefined && REQUEST_ID_PATTERN.test(message.messageId)) return message.messageId;
  return 'unknown';
}

function isLive(record: LedgerRecord, now: number): boolean {
  return record.state === 'applying' && record.leaseUntil !== undefined && Date.parse(record.leaseUntil) > now;
}

async function closeOnlyPublish(
  record: LedgerRecord,
  outcome: Outcome,
  deps: DeadLetterDeps,
  now: Date,
): Promise<void> {
  await deps.publisher.publish(outcome);
  await deps.ledger?.markPublished(record, now);
}

async function sleep(deps: DeadLetterDeps, ms: number): Promise<void> {
  if (ms > 0) await deps.clock.sleep(ms);
}
