/**
 * The intakes of API Management's circuit-breaker events, one handler behind both:
 * - `circuitBreakerEvents`: Event Grid trigger (the host answers the subscription handshake);
 * - `circuitBreakerWebhook`: `POST /api/circuit-breaker-events` for webhook subscriptions and relays (answers
 *   Event Grid's validation event and the CloudEvents OPTIONS handshake itself);
 * - `circuitBreakerHistory`: `GET /api/circuit-breaker-events?backend={ARM id}`.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { BreakerRetryError } from '../shared/app/breaker-ports';
import { parseResourceId } from '../shared/domain/backend-id';
import type { ErrorBody } from '../shared/domain/contract/error-response';
import { parseDelivery } from '../shared/domain/breaker-event';
import { eventDataOf } from '../shared/domain/breaker-record';
import { contextLogger } from './context-logger';
import { invocationTelemetry } from './telemetry';
import type { ServicesProvider } from './composition-root';
import { decodeBody } from './message-body';

const CONTENT_TYPES = /^application\/(json|cloudevents\+json|cloudevents-batch\+json)\b/i;
/** How soon Event Grid (or a relay) should retry a delivery we could not finish. */
const RETRY_AFTER_SECONDS = '10';

/** The Event Grid trigger: one event per invocation. A throw makes Event Grid redeliver it. */
export function circuitBreakerEventsHandler(services: ServicesProvider) {
  return async (event: unknown, context: InvocationContext): Promise<void> => {
    const logger = contextLogger(context);
    const parsed = parseDelivery(event);
    if (!parsed.ok) {
      // Redelivering a malformed event cannot help: log what is wrong and acknowledge it.
      logger.error('Malformed circuit-breaker event refused', { error: parsed.error });
      return;
    }
    await services().changes.breakerEvents(parsed.items, 'eventGrid', logger, invocationTelemetry(context));
  };
}

/**
 * The queue trigger (`%CIRCUIT_BREAKER_QUEUE%`, registered only when that setting is set): an Event Grid subscription
 * that delivers to a Service Bus queue puts one event (either schema) in each message body. A throw abandons the
 * message for redelivery; a malformed event is logged and completed (redelivering it cannot help).
 */
export function circuitBreakerQueueHandler(services: ServicesProvider) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const logger = contextLogger(context);
    const body = decodeBody(message);
    const parsed = body === undefined ? undefined : parseDelivery(body);
    if (parsed === undefined || !parsed.ok) {
      logger.error('Malformed circuit-breaker event refused', {
        error: parsed?.error ?? { code: 'InvalidJson', message: 'The message body is not JSON.' },
      });
      return;
    }
    await services().changes.breakerEvents(parsed.items, 'queue', logger, invocationTelemetry(context));
  };
}

/** The webhook: Event Grid arrays, single CloudEvents and CloudEvents batches; both handshakes. */
export function circuitBreakerWebhookHandler(services: ServicesProvider) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    if (request.method === 'OPTIONS') return abuseProtection(request);
    const svc = services();
    const logger = contextLogger(context);
    if (!CONTENT_TYPES.test((request.headers.get('content-type') ?? '').trim())) {
      return error(415, {
        code: 'UnsupportedMediaType',
        message: 'Send application/json, application/cloudevents+json or application/cloudevents-batch+json.',
      });
    }
    const text = await request.text();
    if (Buffer.byteLength(text, 'utf8') > svc.config.maxBodyBytes) {
      return error(413, {
        code: 'PayloadTooLarge',
        message: `The body is larger than ${svc.config.maxBodyBytes} bytes.`,
      });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return error(400, { code: 'InvalidJson', message: 'The body is not JSON.', target: 'body' });
    }
    const parsed = parseDelivery(body);
    if (!parsed.ok) return error(400, parsed.error);
    const validation = parsed.items.find((i) => i.kind === 'validation');
    if (validation?.kind === 'validation') {
      logger.info('Event Grid subscription validation answered');
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        jsonBody: { validationResponse: validation.code },
      };
    }
    try {
      const { results, ignored } = await svc.changes.breakerEvents(
        parsed.items,
        'webhook',
        logger,
        invocationTelemetry(context),
      );
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        jsonBody: { events: results.map((r) => ({ ...eventDataOf(r.data), duplicate: r.duplicate })), ignored },
      };
    } catch (failure) {
      // Retryable by design (ARM throttling until the deadline, storage or broker unavailable): Event Grid retries.
      logger.error('Circuit-breaker delivery not finished; asking for redelivery', {
        error: failure instanceof Error ? failure.message : String(failure),
      });
      return {
        status: 503,
        headers: { 'content-type': 'application/json', 'retry-after': RETRY_AFTER_SECONDS },
        jsonBody: {
          error: {
            code: failure instanceof BreakerRetryError ? 'RetryLater' : 'Unavailable',
            message: 'The event could not be processed now; deliver it again later.',
          },
        },
      };
    }
  };
}

/** CloudEvents webhook abuse protection: allow the origin that asks (the function key already guards the route). */
function abuseProtection(request: HttpRequest): HttpResponseInit {
  const origin = request.headers.get('webhook-request-origin')?.trim();
  if (origin === undefined || origin === '') {
    return error(400, {
      code: 'Required',
      message: 'WebHook-Request-Origin is required.',
      target: 'WebHook-Request-Origin',
    });
  }
  const headers: Record<string, string> = { 'webhook-allowed-origin': origin, allow: 'POST, OPTIONS' };
  const rate = request.headers.get('webhook-request-rate')?.trim();
  if (rate !== undefined && rate !== '') headers['webhook-allowed-rate'] = /^\d+$/.test(rate) ? rate : '*';
  return { status: 200, headers };
}

/** `GET /api/circuit-breaker-events?backend={ARM id}`: open and closed periods, durations and actions. */
export function circuitBreakerHistoryHandler(services: ServicesProvider) {
  return async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
    const svc = services();
    const backend = request.query.get('backend')?.trim() ?? '';
    const parsed = parseResourceId(backend);
    if (parsed?.kind !== 'backend') {
      return error(400, {
        code: 'ValidationError',
        message: "Query parameter 'backend' must be a backend's ARM id.",
        target: 'backend',
      });
    }
    const history = await svc.changes.breakerHistory(backend);
    return { status: 200, headers: { 'content-type': 'application/json' }, jsonBody: history };
  };
}

function error(status: number, body: ErrorBody): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json' }, jsonBody: { error: body } };
}
