import type { HttpResponseInit } from '@azure/functions';
import { prepareChangeSet, processChangeSet } from '../shared/app/apply-change-set';
import { CHANGE_SET_OPERATION, type SetOutcome } from '../shared/domain/contract/change-set';
import type { Outcome } from '../shared/domain/contract/outcome';
import type { Delivery, ProcessDeps } from '../shared/app/process-change';
import { backendSessionId } from '../shared/domain/session-id';
import { httpStatusOf } from './outcome-response';
import type { AppServices } from './composition-root';
import { TERMINAL_STATES } from '../shared/domain/ledger-state';

/**
 * `POST /api/backend-changes` with a change set: 200 when every change succeeded (or the dry run's plan), otherwise
 * the status of the change that failed (or of the refusal) with the set outcome as the body. With
 * `Prefer: respond-async` a valid set is enqueued and answered 202, as a single change is.
 */
export async function answerChangeSet(
  raw: unknown,
  delivery: Pick<Delivery, 'fallbackRequestId' | 'correlationId'>,
  svc: AppServices,
  deps: ProcessDeps,
  respondAsync: boolean,
): Promise<HttpResponseInit> {
  if (respondAsync) {
    const accepted = await acceptSetAsync(raw, delivery, svc, deps);
    if (accepted !== undefined) return accepted;
  }
  const result = await processChangeSet(raw, { ...delivery, onTransient: 'answer', onPublishFailure: 'defer' }, deps);
  if (result.kind === 'busy') {
    return {
      status: 409,
      headers: { 'content-type': 'application/json', 'retry-after': '5' },
      jsonBody: {
        requestId: result.requestId,
        error: { code: 'RequestInProgress', message: 'This requestId is being applied right now; ask again shortly.' },
      },
    };
  }
  deps.logger.info('Change set finished', {
    requestId: result.outcome.requestId,
    status: result.outcome.status,
    changes: result.outcome.items.length,
    durationMs: result.outcome.durationMs,
    duplicate: result.kind === 'outcome' && result.duplicate,
  });
  return setResponse(result.outcome);
}

/** The HTTP answer of a set outcome: the outcome is the body; transient failures carry Retry-After. */
export function setResponse(outcome: SetOutcome): HttpResponseInit {
  const status = setHttpStatus(outcome);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (status === 429 || status === 503) {
    headers['retry-after'] = String(Math.max(1, Math.ceil((outcome.retryAfterMs ?? 1000) / 1000)));
  }
  return { status, headers, jsonBody: outcome };
}

/** 200 when every change succeeded; otherwise the status the failing change (or the refusal) would get alone. */
export function setHttpStatus(outcome: SetOutcome): number {
  if (outcome.status === 'succeeded') return 200;
  const failing = outcome.order
    .map((index) => outcome.items.find((item) => item.index === index))
    .find((item) => item !== undefined && (item.status === 'failed' || item.status === 'rejected'));
  if (failing !== undefined && failing.status !== 'skipped')
    return httpStatusOf({ ...failing, status: failing.status });
  const summary: Outcome = {
    requestId: outcome.requestId,
    status: outcome.status === 'rejected' ? 'rejected' : 'failed',
    attempts: 0,
    durationMs: outcome.durationMs,
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
  };
  return httpStatusOf(summary);
}

async function acceptSetAsync(
  raw: unknown,
  delivery: Pick<Delivery, 'fallbackRequestId' | 'correlationId'>,
  svc: AppServices,
  deps: ProcessDeps,
): Promise<HttpResponseInit | undefined> {
  const prepared = prepareChangeSet(raw, delivery.fallbackRequestId, { ...deps, fingerprints: svc.fingerprints });
  if (!prepared.ok || prepared.set.dryRun) return undefined;
  const { set, fingerprint } = prepared;
  if (svc.ledger !== undefined) {
    const known = await svc.ledger.get(set.requestId);
    if (known !== undefined && (!fingerprint.matches(known.fingerprint) || TERMINAL_STATES.has(known.state)))
      return undefined;
  }
  const first = set.items[0]!.request.target;
  await svc.queue.enqueue([
    {
      body: { ...(raw as Record<string, unknown>), requestId: set.requestId },
      messageId: set.requestId,
      correlationId: delivery.correlationId,
      // A set is one message: with sessions it is ordered with the other changes of its first backend.
      sessionId: svc.config.sessions ? backendSessionId(first) : undefined,
    },
  ]);
  if (svc.ledger !== undefined) {
    const now = new Date(svc.clock.now());
    const claim = await svc.ledger.claim({
      requestId: set.requestId,
      fingerprint: fingerprint.value,
      sameRequest: fingerprint.matches,
      operation: CHANGE_SET_OPERATION,
      leaseMs: deps.leaseMs,
      now,
    });
    if (claim.kind === 'claimed') await svc.ledger.release(claim.record, 0, now);
  }
  deps.logger.info('Change set accepted for asynchronous processing', { requestId: set.requestId });
  return {
    status: 202,
    headers: {
      'content-type': 'application/json',
      location: `/api/backend-changes/${encodeURIComponent(set.requestId)}`,
    },
    jsonBody: { requestId: set.requestId, status: 'accepted' },
  };
}
