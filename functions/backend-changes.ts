import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { backendResourceId } from '../shared/arm/resource-id';
import { parseChangeRequest, REQUEST_ID_PATTERN } from '../shared/contract/change-request';
import { isChangeSetInput } from '../shared/contract/change-set';
import type { ErrorBody } from '../shared/contract/error-response';
import type { Outcome } from '../shared/contract/outcome';
import { policyRefusal } from '../shared/engine/execute-change';
import { processChange, withRequestId, type Delivery, type ProcessDeps } from '../shared/engine/process-change';
import { notJsonError } from '../shared/engine/rejection';
import { TERMINAL_STATES } from '../shared/ledger/ledger-types';
import { backendSessionId } from '../shared/messaging/session-id';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../shared/webhook/signature';
import { answerChangeSet } from './change-set-http';
import { contextLogger } from './context-logger';
import { outcomeResponse } from './outcome-response';
import { engineSettings, processDeps, type AppServices, type ServicesProvider } from './services';

const NOT_JSON = notJsonError('The body');
const HTTP_DEADLINE_MAX_MS = 150_000;

/**
 * `POST /api/backend-changes`: one change request per call. Synchronous by default (the outcome, with ARM's
 * status); with `Prefer: respond-async` the validated request is recorded, enqueued and answered 202.
 */
export function backendChangesHandler(services: ServicesProvider) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const svc = services();
    const logger = contextLogger(context);
    const contentType = request.headers.get('content-type') ?? '';
    if (!/^application\/([\w.+-]*\+)?json\b/i.test(contentType.trim())) {
      return plainError(415, 'UnsupportedMediaType', 'Send the change request as application/json.');
    }
    const declared = Number(request.headers.get('content-length') ?? '0');
    if (declared > svc.config.maxBodyBytes) return tooLarge(svc.config.maxBodyBytes);
    const text = await request.text();
    if (Buffer.byteLength(text, 'utf8') > svc.config.maxBodyBytes) return tooLarge(svc.config.maxBodyBytes);
    if (!signatureAccepted(svc, request, text)) {
      logger.warn('Webhook signature verification failed');
      return plainError(401, 'Unauthorized', 'Signature verification failed.');
    }

    let raw: unknown;
    let notJson: ErrorBody | undefined;
    try {
      raw = JSON.parse(text);
    } catch {
      notJson = NOT_JSON;
    }
    const deps = processDeps(svc, logger);
    // Azure's front end cuts an HTTP call at 230 s: finish well before it, publishing included. (processDeps
    // returns fresh objects, so they are adjusted in place rather than copied by spreads.)
    deps.settings.deadlineMs = Math.min(deps.settings.deadlineMs, HTTP_DEADLINE_MAX_MS);
    // A caller that cannot put a requestId in the body can send an Idempotency-Key header: a retried call is then
    // answered from the ledger instead of being applied again.
    const key = request.headers.get('idempotency-key')?.trim();
    const fallbackRequestId = key !== undefined && REQUEST_ID_PATTERN.test(key) ? key : randomUUID();
    const delivery: Delivery = {
      fallbackRequestId,
      correlationId: context.invocationId,
      origin: 'http',
      onTransient: 'answer',
      onPublishFailure: 'defer',
    };

    const respondAsync = /\brespond-async\b/i.test(request.headers.get('prefer') ?? '');
    if (notJson === undefined && isChangeSetInput(raw)) return answerChangeSet(raw, delivery, svc, deps, respondAsync);
    if (notJson === undefined && respondAsync) {
      const accepted = await acceptAsync(raw, delivery, svc, deps);
      if (accepted !== undefined) return accepted;
    }

    const result = await processChange(raw, delivery, deps, notJson);
    if (result.kind === 'busy') {
      return {
        status: 409,
        headers: { 'content-type': 'application/json', 'retry-after': '5' },
        jsonBody: {
          requestId: result.requestId,
          error: {
            code: 'RequestInProgress',
            message: 'This requestId is being applied right now; ask again shortly.',
          },
        },
      };
    }
    const finished = summary(result.outcome);
    finished['duplicate'] = result.kind === 'outcome' && result.duplicate;
    logger.info('Change request finished', finished);
    return outcomeResponse(result.outcome);
  };
}

/**
 * The `Prefer: respond-async` path: a valid, allowed request is enqueued and registered in the ledger (so its status
 * is known at once; a conflicting reuse of the requestId is refused before anything is queued). Returns undefined when the request
 * must instead be answered synchronously (invalid, refused, or already decided).
 */
async function acceptAsync(
  raw: unknown,
  delivery: Delivery,
  svc: AppServices,
  deps: ProcessDeps,
): Promise<HttpResponseInit | undefined> {
  const parsed = parseChangeRequest(raw);
  if (!parsed.ok || parsed.request.dryRun) return undefined;
  const request = withRequestId(parsed.request, delivery.fallbackRequestId);
  const requestId = request.requestId!;
  if (policyRefusal(request, engineSettings(svc.config)) !== undefined) return undefined;
  // Fingerprinted once, and only with a ledger; a synchronous answer after all (below) reuses it.
  const fingerprint = svc.ledger === undefined ? undefined : svc.fingerprints.of(request);
  delivery.fingerprint = fingerprint;
  if (svc.ledger !== undefined && fingerprint !== undefined) {
    // Decided or conflicting requests are answered synchronously from the ledger (by processChange).
    const known = await svc.ledger.get(requestId);
    if (known !== undefined && (!fingerprint.matches(known.fingerprint) || TERMINAL_STATES.has(known.state)))
      return undefined;
  }
  const body = Object.assign({}, raw as Record<string, unknown>);
  body['requestId'] = requestId;
  await svc.queue.enqueue([
    {
      body,
      messageId: requestId,
      correlationId: delivery.correlationId,
      sessionId: svc.config.sessions ? backendSessionId(request.target) : undefined,
    },
  ]);
  if (svc.ledger !== undefined && fingerprint !== undefined) {
    // Registered after it is safely queued, so a failed enqueue leaves no record that waits for ever. The queue
    // consumer may already hold or have finished it (busy, done): then there is nothing to register.
    const claim = await svc.ledger.claim({
      requestId,
      fingerprint: fingerprint.value,
      sameRequest: fingerprint.matches,
      operation: request.operation,
      target: backendResourceId(request.target),
      leaseMs: deps.leaseMs,
      now: new Date(svc.clock.now()),
      origin: 'queue',
    });
    if (claim.kind === 'claimed') await svc.ledger.release(claim.record, 0, new Date(svc.clock.now()));
  }
  deps.logger.info('Change request accepted for asynchronous processing', {
    requestId,
    target: backendResourceId(request.target),
  });
  return {
    status: 202,
    headers: {
      'content-type': 'application/json',
      location: `/api/backend-changes/${encodeURIComponent(requestId)}`,
    },
    jsonBody: { requestId, status: 'accepted' },
  };
}

function signatureAccepted(svc: AppServices, request: HttpRequest, text: string): boolean {
  if (svc.config.webhookSecrets.length === 0) return true;
  return verifySignature(
    { secrets: svc.config.webhookSecrets, toleranceMs: svc.config.webhookToleranceMs },
    { signature: request.headers.get(SIGNATURE_HEADER), timestamp: request.headers.get(TIMESTAMP_HEADER) },
    text,
    svc.clock.now(),
  );
}

/** The fields of an outcome worth a log line (never the backend body). */
export function summary(outcome: Outcome): Record<string, unknown> {
  return {
    requestId: outcome.requestId,
    operation: outcome.operation,
    target: outcome.target,
    status: outcome.status,
    httpStatus: outcome.httpStatus,
    attempts: outcome.attempts,
    durationMs: outcome.durationMs,
    error: outcome.error?.code,
  };
}

function tooLarge(limit: number): HttpResponseInit {
  return plainError(413, 'PayloadTooLarge', `The body is larger than ${limit} bytes.`);
}

function plainError(status: number, code: string, message: string): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json' }, jsonBody: { error: { code, message } } };
}
