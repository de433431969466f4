/**
 * The requestId namespace of `scheduledReconnect`. Its ids are derived from the backend and the scheduled time, so
 * a re-fired timer yields the same ids (and the ledger drops the copies); being predictable, they could be
 * registered first by a caller, and the timer's reconnect would then be refused as `RequestIdConflict`. So the
 * shape is reserved: callers over HTTP may never use it, and on the queue an id of that shape is accepted only for
 * exactly the request the timer itself sends for that id, at or after its scheduled time — sending it does nothing
 * the timer would not do.
 */
import { createHash } from 'node:crypto';
import { backendResourceId, type BackendTarget } from './backend-id';
import type { ErrorBody } from './contract/error-response';
import { fingerprintRequest } from './fingerprint';

/** `reconnect-<yyyyMMddHHmmss>-<24 hex>`: the timer's requestIds. */
const TIMER_ID = /^reconnect-(\d{14})-[0-9a-f]{24}$/i;
/** How early (clock skew between instances) a timer id may arrive before its scheduled time. */
const EARLY_SLACK_MS = 60_000;

/** The timer's requestId for one backend at one scheduled time. */
export function timerRequestId(target: BackendTarget, scheduledAt: Date): string {
  const id = backendResourceId(target);
  const hash = createHash('sha256').update(`${id.toLowerCase()}\n${scheduledAt.toISOString()}`).digest('hex');
  const stamp = scheduledAt
    .toISOString()
    .replace(/[^0-9]/g, '')
    .slice(0, 14);
  return `reconnect-${stamp}-${hash.slice(0, 24)}`;
}

/** The timer's change request for one backend at one scheduled time (the queue message body). */
export function timerRequest(
  target: BackendTarget,
  scheduledAt: Date,
  after: string | undefined,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    requestId: timerRequestId(target, scheduledAt),
    operation: 'reconnect',
    target: backendResourceId(target),
  };
  if (after !== undefined) body['body'] = { properties: { after } };
  return body;
}

/** True when `requestId` has the shape reserved for the timer. */
export function isReservedRequestId(requestId: string | undefined): boolean {
  return requestId !== undefined && TIMER_ID.test(requestId);
}

/** The refusal of a reserved requestId (HTTP 400, a `rejected` event on the queue; never recorded). */
export function reservedRequestIdError(field: string): ErrorBody {
  const message =
    "requestIds of the form 'reconnect-<14 digits>-<24 hex>' are reserved for scheduled reconnects; choose another.";
  return { code: 'ValidationError', message, details: [{ code: 'ReservedRequestId', target: field, message }] };
}

function stampTime(stamp: string): number {
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(8, 10)}:${stamp.slice(10, 12)}:${stamp.slice(12, 14)}Z`;
  return Date.parse(iso);
}

/**
 * Whether a queued request using a reserved id is the timer's own: a reconnect of a backend whose id and
 * scheduled time (to the second) hash to exactly this id, with the configured `after`, whose time has come.
 */
export function isTimerRequest(
  requestId: string,
  request: { operation: string; target: BackendTarget; body?: unknown } | undefined,
  after: string | undefined,
  nowMs: number,
): boolean {
  const match = TIMER_ID.exec(requestId);
  if (match === null || request === undefined || request.operation !== 'reconnect') return false;
  const at = stampTime(match[1] ?? '');
  if (!Number.isFinite(at) || at > nowMs + EARLY_SLACK_MS) return false;
  // The timer schedules on whole seconds (NCRONTAB's finest unit), so the stamp is the whole scheduled time.
  const scheduledAt = new Date(at);
  if (timerRequestId(request.target, scheduledAt).toLowerCase() !== requestId.toLowerCase()) return false;
  const expected = timerRequest(request.target, scheduledAt, after);
  const given = {
    requestId: expected['requestId'],
    operation: 'reconnect',
    target: expected['target'],
    body: request.body,
  };
  return fingerprintRequest(given) === fingerprintRequest(expected);
}
