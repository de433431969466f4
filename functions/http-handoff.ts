import type { HttpResponseInit } from '@azure/functions';
import type { ChangeRequest } from '../shared/domain/contract/change-request';
import type { Outcome } from '../shared/domain/contract/outcome';
import { backendSessionId } from '../shared/domain/session-id';
import type { AppServices } from './composition-root';

/** How long an HTTP call waits for the queue to take a message before answering 503 (the broker may be down). */
export const ENQUEUE_WAIT_MS = 10_000;
/** Retry-After of a 202 when ARM gave no advice: when it is worth asking for the status. */
const DEFAULT_STATUS_RETRY_S = 5;
/** Retry-After of a 503 when the queue could not take the message. */
export const QUEUE_DOWN_RETRY_S = 10;

/** Whether the app has a change-request queue to hand work to (a Service Bus connection is configured). */
export function hasQueue(svc: AppServices): boolean {
  const { connectionString, fullyQualifiedNamespace } = svc.config.serviceBus;
  return connectionString !== undefined || fullyQualifiedNamespace !== undefined;
}

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

/** Resolves with the promise's value, or rejects after `ms` (the work itself goes on; its result is dropped). */
export async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Enqueues the validated request under its requestId, bounded in time. Throws when the queue did not take it. */
export async function enqueueChange(
  svc: AppServices,
  raw: unknown,
  request: ChangeRequest & { requestId: string },
  correlationId: string,
): Promise<void> {
  const body = { ...(raw as Record<string, unknown>), requestId: request.requestId };
  await within(
    svc.queue.enqueue([
      {
        body,
        messageId: request.requestId,
        correlationId,
        sessionId: svc.config.sessions ? backendSessionId(request.target) : undefined,
      },
    ]),
    ENQUEUE_WAIT_MS,
    'Enqueueing the change request',
  );
}

/** 202 Accepted with the status URL, as ARM answers a long-running operation. */
export function acceptedResponse(requestId: string, retryAfterMs?: number): HttpResponseInit {
  const retryAfter = retryAfterMs === undefined ? DEFAULT_STATUS_RETRY_S : Math.max(1, Math.ceil(retryAfterMs / 1000));
  return {
    status: 202,
    headers: {
      'content-type': 'application/json',
      location: `/api/backend-changes/${encodeURIComponent(requestId)}`,
      'retry-after': String(retryAfter),
    },
    jsonBody: { requestId, status: 'accepted' },
  };
}

/** 503 with Retry-After: the queue (the broker) is unavailable, nothing was accepted. */
export function queueUnavailable(): HttpResponseInit {
  return {
    status: 503,
    headers: { 'content-type': 'application/json', 'retry-after': String(QUEUE_DOWN_RETRY_S) },
    jsonBody: {
      error: {
        code: 'QueueUnavailable',
        message: 'The change-request queue is unavailable right now; nothing was accepted. Retry later.',
      },
    },
  };
}
