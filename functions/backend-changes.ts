import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { backendResourceId } from '../shared/domain/backend-id';
import { parseChangeRequest, REQUEST_ID_PATTERN } from '../shared/domain/contract/change-request';
import { isChangeSetInput } from '../shared/domain/contract/change-set';
import type { ErrorBody } from '../shared/domain/contract/error-response';
import type { Outcome } from '../shared/domain/contract/outcome';
import { policyRefusal } from '../shared/app/apply-change';
import { processChangeTraced } from './traced-change';
import { withRequestId, type Delivery, type ProcessDeps } from '../shared/app/process-change';
import { notJsonError } from '../shared/domain/rejection';
import { exceedsDepth } from '../shared/domain/contract/json-depth';
import { isReservedRequestId } from '../shared/domain/reserved-ids';
import {
  IDEMPOTENCY_KEY_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookCall,
} from '../shared/adapters/webhook-signature';
import { answerChangeSet } from './change-set-http';
import { contextLogger } from './context-logger';
import { acceptedResponse, enqueueChange, hasQueue, queueUnavailable, worthHandingOff } from './http-handoff';
import { outcomeResponse } from './outcome-response';
import { engineSettings, processDeps, type AppServices, type ServicesProvider } from './composition-root';
import { TERMINAL_STATES } from '../shared/domain/ledger-state';

const NOT_JSON = notJsonError('The body');

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
    // The raw bytes: the signature is verified over exactly what was sent, never over a decoded and re-encoded text.
    const bytes = Buffer.from(await request.arrayBuffer());
    if (bytes.length > svc.config.maxBodyBytes) return tooLarge(svc.config.maxBodyBytes);
    const key = request.headers.get(IDEMPOTENCY_KEY_HEADER)?.trim();
    if (key !== undefined && !REQUEST_ID_PATTERN.test(key)) {
      // Ignoring it would apply a retried call twice: refuse it.
      return fieldError(
        'Idempotency-Key',
        'InvalidFormat',
        "Must be 1–128 characters of letters, digits, '.', '_', ':' and '-'.",
      );
    }
    if (key !== undefined && isReservedRequestId(key)) {
      return fieldError('Idempotency-Key', 'ReservedRequestId', 'This form is reserved for scheduled reconnects.');
    }
    const verified = verifyCall(svc, request, bytes, key);
    if (verified === false) {
      logger.warn('Webhook signature verification failed');
      return plainError(401, 'Unauthorized', 'Signature verification failed.');
    }

    let raw: unknown;
    let notJson: ErrorBody | undefined;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch {
      notJson = NOT_JSON;
    }
    const deps = processDeps(svc, logger);
    // Webhook senders give up after seconds (GitHub after 10) and resend: a synchronous call gets a short budget,
    // and what is still transient then is handed to the queue (202) rather than holding the caller. (processDeps
    // returns fresh objects, so they are adjusted in place rather than copied by spreads.)
    deps.settings.deadlineMs = Math.min(deps.settings.deadlineMs, svc.config.httpSyncMs);
    // Without a requestId in the body: the Idempotency-Key header (signed, with WEBHOOK_SECRETS); for a signed call
    // without one, an id derived from the signature, so a replay of the captured call is answered as a duplicate;
    // otherwise a new id.
    const fallbackRequestId = key ?? (verified === true ? randomUUID() : `webhook-${verified.replayId.slice(0, 40)}`);
    const delivery: Delivery = {
      fallbackRequestId,
      correlationId: context.invocationId,
      origin: 'http',
      onTransient: 'answer',
      onPublishFailure: 'defer',
      reservedIds: { policy: 'refuse' },
    };
    if (hasQueue(svc)) delivery.handOff = worthHandingOff;

    const respondAsync = /\brespond-async\b/i.test(request.headers.get('prefer') ?? '');
    if (notJson === undefined && isChangeSetInput(raw)) return answerChangeSet(raw, delivery, svc, deps, respondAsync);
    if (notJson === undefined && respondAsync) {
      const accepted = await acceptAsync(raw, delivery, svc, deps);
      if (accepted !== undefined) return accepted;
    }

    const result = await processChangeTraced(svc.telemetry, raw, delivery, deps, notJson);
    if (result.kind === 'redeliver') return handOff(raw, result.outcome, svc, context.invocationId, logger);
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
  // Too deep to validate safely, or a reserved id: refused synchronously by processChange.
  if (exceedsDepth(raw)) return undefined;
  const parsed = parseChangeRequest(raw, { defaultApiVersion: svc.config.armApiVersion });
  if (!parsed.ok || parsed.request.dryRun) return undefined;
  const request = withRequestId(parsed.request, delivery.fallbackRequestId);
  const requestId = request.requestId!;
  if (isReservedRequestId(requestId)) return undefined;
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
  try {
    await enqueueChange(svc, raw, { ...request, requestId }, delivery.correlationId ?? '');
  } catch (error) {
    deps.logger.error('Enqueueing an async change request failed', { requestId, error: String(error) });
    return queueUnavailable();
  }
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
  return acceptedResponse(requestId);
}

/**
 * A synchronous change still transient at the end of its budget (HTTP_SYNC_SECONDS): its record was released, so
 * the queue can take it over; answer 202 with the status URL and ARM's advice as Retry-After. When the queue does
 * not take it, the caller gets the transient outcome (429/503 with Retry-After) and may retry the same requestId.
 */
async function handOff(
  raw: unknown,
  outcome: Outcome,
  svc: AppServices,
  correlationId: string,
  logger: ProcessDeps['logger'],
): Promise<HttpResponseInit> {
  const parsed = parseChangeRequest(raw, { defaultApiVersion: svc.config.armApiVersion });
  if (parsed.ok) {
    try {
      await enqueueChange(svc, raw, { ...parsed.request, requestId: outcome.requestId }, correlationId);
      logger.info('Change still transient at the end of the synchronous budget; handed to the queue', {
        ...summary(outcome),
      });
      return acceptedResponse(outcome.requestId, outcome.retryAfterMs);
    } catch (error) {
      logger.error('Handing a transient change to the queue failed', {
        requestId: outcome.requestId,
        error: String(error),
      });
    }
  }
  return outcomeResponse(outcome);
}

/**
 * `true` when no secrets are configured; `false` when the signature fails; otherwise the signed call's replay id.
 * With secrets, an Idempotency-Key is part of the signed content (see shared/webhook/signature.ts).
 */
function verifyCall(
  svc: AppServices,
  request: HttpRequest,
  bytes: Uint8Array,
  idempotencyKey: string | undefined,
): { replayId: string } | boolean {
  if (svc.config.webhookSecrets.length === 0) return true;
  return (
    verifyWebhookCall(
      { secrets: svc.config.webhookSecrets, toleranceMs: svc.config.webhookToleranceMs },
      {
        signature: request.headers.get(SIGNATURE_HEADER),
        timestamp: request.headers.get(TIMESTAMP_HEADER),
        idempotencyKey,
      },
      bytes,
      svc.clock.now(),
    ) ?? false
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

function fieldError(target: string, code: string, message: string): HttpResponseInit {
  return {
    status: 400,
    headers: { 'content-type': 'application/json' },
    jsonBody: {
      error: { code: 'ValidationError', message: `${target}: ${message}`, details: [{ code, target, message }] },
    },
  };
}

function plainError(status: number, code: string, message: string): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json' }, jsonBody: { error: { code, message } } };
}
