/** Handing change requests to the change-request queue: from HTTP (respond-async, or still transient at the end of the synchronous budget) and from the reconnect timer. */
import type { BackendTarget } from '../domain/backend-id';
import type { Outcome } from '../domain/contract/outcome';
import { backendSessionId } from '../domain/session-id';
import type { QueuedChange } from './queue-ports';
import type { ServiceContext } from './service-context';

/**
 * Whether a transient outcome of a synchronous call is worth handing to the queue: ARM throttling, timeouts and
 * connection failures or 503s clear by themselves, later. ARM answering 500/502/504 until the attempt cap is
 * answered as failed (502) instead: the caller learns at once that ARM is failing the request.
 */
export function worthHandingOff(outcome: Outcome): boolean {
  const code = outcome.error?.code;
  if (code === 'Throttled' || code === 'Timeout') return true;
  return code === 'UpstreamUnavailable' && (outcome.httpStatus === undefined || outcome.httpStatus === 503);
}

/** The queue message of a change request: its body under its requestId, in its backend's session when enabled. */
export function queuedChange(
  body: unknown,
  requestId: string,
  target: BackendTarget,
  sessions: boolean,
  correlationId?: string,
): QueuedChange {
  const change: QueuedChange = { body, messageId: requestId };
  if (correlationId !== undefined) change.correlationId = correlationId;
  // With sessions, changes of one backend (a set: its first backend) are ordered one after another.
  if (sessions) change.sessionId = backendSessionId(target);
  return change;
}

/**
 * Enqueues a validated change or change set under its requestId (a set under its first backend's session), bounded
 * in time. Throws when the queue did not take it.
 */
export async function enqueueChange(
  { ports, settings }: ServiceContext,
  raw: unknown,
  request: { requestId: string; target: BackendTarget },
  correlationId: string | undefined,
): Promise<void> {
  const body = { ...(raw as Record<string, unknown>), requestId: request.requestId };
  await within(
    ports.queue.enqueue([
      queuedChange(body, request.requestId, request.target, settings.queue.sessions, correlationId),
    ]),
    settings.time.enqueueWaitMs,
    'Enqueueing the change request',
  );
}

/** Resolves with the promise's value, or rejects after `ms` (the work itself goes on; its result is dropped). */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
