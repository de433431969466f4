import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { REQUEST_ID_PATTERN } from '../shared/domain/contract/change-request';
import type { ErrorBody } from '../shared/domain/contract/error-response';
import { notJsonError, requestIdOf } from '../shared/domain/rejection';
import { isReservedRequestId } from '../shared/domain/reserved-ids';
import {
  IDEMPOTENCY_KEY_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookCall,
} from '../shared/adapters/webhook-signature';
import { contextLogger } from './context-logger';
import { invocationTelemetry } from './telemetry';
import { httpAnswer } from './http-answers';
import type { AppServices, ServicesProvider } from './composition-root';

const NOT_JSON = notJsonError('The body');

/**
 * `POST /api/backend-changes`: one change request or change set per call. Synchronous by default (the outcome, with
 * ARM's status); with `Prefer: respond-async` the validated request is enqueued, registered and answered 202. This
 * adapter reads and authenticates the call; the change service does the rest.
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
    // Without a requestId in the body: the Idempotency-Key header (signed, with WEBHOOK_SECRETS); for a signed call
    // without one, an id derived from the signature, so a replay of the captured call is answered as a duplicate;
    // otherwise a new id. A valid requestId in the body always wins over the fallback, so then it is its own
    // fallback and no UUID is drawn.
    const fallbackRequestId =
      key ?? (verified === true ? (requestIdOf(raw) ?? randomUUID()) : `webhook-${verified.replayId.slice(0, 40)}`);
    const submission = { raw, notJson, fallbackRequestId, correlationId: context.invocationId };
    const respondAsync = /\brespond-async\b/i.test(request.headers.get('prefer') ?? '');
    const answer = respondAsync
      ? await svc.changes.accept(submission, logger, invocationTelemetry(context))
      : await svc.changes.apply(submission, logger, invocationTelemetry(context));
    return httpAnswer(answer);
  };
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
