import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { backendResourceId } from '../shared/arm/resource-id';
import { parseChangeRequest } from '../shared/contract/change-request';
import type { ErrorBody } from '../shared/contract/error-response';
import type { Outcome } from '../shared/contract/outcome';
import { executeChange, policyRefusal } from '../shared/engine/execute-change';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../shared/webhook/signature';
import { rejectedOutcome } from '../shared/engine/rejection';
import { contextLogger } from './context-logger';
import { outcomeResponse } from './outcome-response';
import { engineSettings, type ServicesProvider } from './services';

/**
 * `POST /api/backend-changes`: one change request per call. Synchronous by default (the outcome, with ARM's
 * status); with `Prefer: respond-async` the validated request is enqueued and answered 202.
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

    if (
      svc.config.webhookSecrets.length > 0 &&
      !verifySignature(
        { secrets: svc.config.webhookSecrets, toleranceMs: svc.config.webhookToleranceMs },
        { signature: request.headers.get(SIGNATURE_HEADER), timestamp: request.headers.get(TIMESTAMP_HEADER) },
        text,
        svc.clock.now(),
      )
    ) {
      logger.warn('Webhook signature verification failed');
      return plainError(401, 'Unauthorized', 'Signature verification failed.');
    }

    const fallbackId = randomUUID();
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return respond(rejectedOutcome(undefined, invalid('body', 'The body is not valid JSON.'), fallbackId));
    }
    const parsed = parseChangeRequest(raw);
    if (!parsed.ok) return respond(rejectedOutcome(raw, parsed.error, fallbackId));
    const changeRequest = { ...parsed.request, requestId: parsed.request.requestId ?? fallbackId };

    if (/\brespond-async\b/i.test(request.headers.get('prefer') ?? '')) {
      const refusal = policyRefusal(changeRequest, engineSettings(svc.config));
      if (refusal !== undefined) return respond(rejectedOutcome(raw, refusal, changeRequest.requestId));
      const body = { ...(raw as Record<string, unknown>), requestId: changeRequest.requestId };
      await svc.queue.enqueue([{ body, messageId: changeRequest.requestId, correlationId: context.invocationId }]);
      logger.info('Change request accepted for asynchronous processing', {
        requestId: changeRequest.requestId,
        target: backendResourceId(changeRequest.target),
      });
      return {
        status: 202,
        headers: {
          'content-type': 'application/json',
          location: `/api/backend-changes/${encodeURIComponent(changeRequest.requestId)}`,
        },
        jsonBody: { requestId: changeRequest.requestId, status: 'accepted' },
      };
    }

    const outcome = await executeChange(changeRequest, {
      arm: svc.arm,
      clock: svc.clock,
      logger,
      settings: engineSettings(svc.config),
    });
    return respond(outcome);

    async function respond(outcome: Outcome): Promise<HttpResponseInit> {
      logger.info('Change request finished', summary(outcome));
      try {
        await svc.publisher.publish(outcome, { correlationId: context.invocationId });
      } catch (error) {
        // The caller still gets the outcome; the event is what is missing, and the log says so.
        logger.error('Publishing the result event failed', { requestId: outcome.requestId, error: String(error) });
      }
      return outcomeResponse(outcome);
    }
  };
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

function invalid(target: string, message: string): ErrorBody {
  return { code: 'ValidationError', message, details: [{ code: 'InvalidJson', target, message }] };
}

function tooLarge(limit: number): HttpResponseInit {
  return plainError(413, 'PayloadTooLarge', `The body is larger than ${limit} bytes.`);
}

function plainError(status: number, code: string, message: string): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json' }, jsonBody: { error: { code, message } } };
}
