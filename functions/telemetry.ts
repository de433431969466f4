/**
 * Telemetry at the edges: one span per trigger invocation (continuing the caller's trace), and the ARM client's
 * sends' spans. The use cases below see only the telemetry port.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { ArmAttemptAnswer, ArmAttemptHandle } from '../shared/app/arm-ports';
import {
  carrierFrom,
  type Attributes,
  type SpanHandle,
  type SpanKind,
  type Telemetry,
  type TraceCarrier,
} from '../shared/app/telemetry-ports';
import { requestIdOfMessage } from '../shared/adapters/service-bus/message-request-id';
import type { FunctionRegistration } from './registrations';

type AnyHandler = (input: unknown, context: InvocationContext) => Promise<unknown>;

/** The span of one invocation: its kind, attributes, and the remote parent it continues. */
function triggerSpan(
  fn: FunctionRegistration,
  input: unknown,
  context: InvocationContext,
): { kind: SpanKind; attributes: Attributes; parent: TraceCarrier | undefined } {
  // In Azure the host traces the invocation itself (telemetryMode: OpenTelemetry) and hands its span over.
  const host = carrierFrom(context.traceContext?.traceParent, context.traceContext?.traceState);
  const meta = context.triggerMetadata ?? {};
  // Attributes hold no input as sent: the route template rather than the path, the message's requestId (or the id
  // derived from it) rather than any string a sender chose, a well-formed event type or none.
  switch (fn.kind) {
    case 'http': {
      const request = input as HttpRequest;
      const inbound = carrierFrom(request.headers.get('traceparent'), request.headers.get('tracestate'));
      return {
        kind: 'server',
        attributes: { 'http.request.method': request.method, 'http.route': fn.trigger.route },
        parent: host ?? inbound,
      };
    }
    case 'serviceBusQueue': {
      const props = (meta['applicationProperties'] ?? {}) as Record<string, unknown>;
      const sent = carrierFrom(props['traceparent'] ?? props['Diagnostic-Id'], props['tracestate']);
      return {
        kind: 'consumer',
        attributes: {
          'messaging.system': 'servicebus',
          'messaging.message.id':
            typeof meta['messageId'] === 'string' && meta['messageId'] !== ''
              ? requestIdOfMessage(meta['messageId']).requestId
              : undefined,
        },
        parent: host ?? sent,
      };
    }
    case 'timer':
      return { kind: 'internal', attributes: {}, parent: host };
    default: {
      // Event Grid: a CloudEvent carries the distributed-tracing extension.
      const event = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
      const eventType = event['type'] ?? event['eventType'];
      return {
        kind: 'consumer',
        attributes: {
          'cloudevents.event_type': typeof eventType === 'string' && EVENT_TYPE.test(eventType) ? eventType : undefined,
        },
        parent: host ?? carrierFrom(event['traceparent'], event['tracestate']),
      };
    }
  }
}

/** An event type as Event Grid and CloudEvents name them (reverse-DNS words and dots). */
const EVENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,127}$/;

/** Each running invocation's telemetry, bound to its trigger span (see {@link invocationTelemetry}). */
const invocations = new WeakMap<InvocationContext, Telemetry>();

/**
 * The telemetry of an invocation wrapped by {@link withTelemetry}, bound to its trigger span: the handler hands it
 * to the change service, so the work's spans are that span's children. Undefined when telemetry is off.
 */
export function invocationTelemetry(context: InvocationContext): Telemetry | undefined {
  return invocations.get(context);
}

/**
 * The registration with its handler in a span named after the function. Errors are recorded and rethrown; an
 * HTTP answer's status is recorded. Telemetry off: the handler runs as is. (Circuit-breaker events are counted by
 * their use case, which knows what it decided.)
 */
export function withTelemetry<R extends FunctionRegistration>(fn: R, telemetry: () => Telemetry): R {
  const handler = fn.handler as AnyHandler;
  const kind: string = fn.kind;
  const traced: AnyHandler = async (input, context) => {
    let t: Telemetry;
    try {
      t = telemetry();
    } catch {
      return handler(input, context); // invalid configuration: the handler reports it
    }
    if (!t.enabled) return handler(input, context);
    const span = triggerSpan(fn, input, context);
    const run = (handle: SpanHandle): Promise<unknown> => {
      invocations.set(context, handle.telemetry);
      return handler(input, context);
    };
    return kind === 'http' ? t.inSpan(fn.name, span, run, answered) : t.inSpan(fn.name, span, run);
  };
  return { ...fn, handler: traced };
}

/** An HTTP invocation's span, from its answer: the status, and failed when it is a 5xx. */
function answered(span: SpanHandle, result: unknown): void {
  const status = (result as HttpResponseInit | undefined)?.status ?? 200;
  span.set({ 'http.response.status_code': status });
  if (status >= 500) span.fail({ name: `HTTP ${status}` });
}

/** Span names of ARM's methods, made once. */
const SPAN_NAMES: Partial<Record<string, string>> = {
  GET: 'ARM GET',
  HEAD: 'ARM HEAD',
  PUT: 'ARM PUT',
  PATCH: 'ARM PATCH',
  POST: 'ARM POST',
  DELETE: 'ARM DELETE',
};

/**
 * One ARM send as a client span. A class rather than closures made per send: the methods are shared, one object per
 * attempt.
 */
class AttemptSpan implements ArmAttemptHandle {
  private ended = false;
  private readonly span: ReturnType<Telemetry['startSpan']>;

  constructor(
    private readonly telemetry: Telemetry,
    private readonly method: string,
    private readonly role: 'operation' | 'read',
  ) {
    this.span = telemetry.startSpan(SPAN_NAMES[method] ?? `ARM ${method}`, {
      kind: 'client',
      attributes: { 'http.request.method': method, 'arm.role': role },
    });
  }

  answered({ status, armRequestId, errorCode }: ArmAttemptAnswer): void {
    const { telemetry, method } = this;
    this.span.set({ 'http.response.status_code': status, 'arm.request_id': armRequestId, 'arm.error_code': errorCode });
    telemetry.count('arm.attempts', 1, { method, role: this.role, status: status ?? 0 });
    if (status === 429) telemetry.count('arm.throttled', 1, { method });
    if (status === 412) telemetry.count('arm.precondition_failed', 1, { method });
    if (status === undefined || status >= 500) this.span.fail({ name: errorCode ?? `HTTP ${status}` });
    // Closed after the retry decision, which is taken in this same job (see ArmAttemptHandle). A success is never
    // retried: closed now, without a queued job (each makes an async resource when traced).
    if (status !== undefined && status >= 200 && status < 300) this.end();
    else queueMicrotask(() => this.end());
  }

  retrying(reason: string, waitMs: number): void {
    this.span.set({ 'arm.retry.reason': reason, 'arm.retry.wait_ms': waitMs });
    this.telemetry.record('arm.retry_wait', waitMs / 1000, { reason });
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.span.end();
  }
}

/** One ARM send as a client span, with its metrics (attempts, 429s, 412s, retry waits): see traced-ports.ts. */
export function attemptSpan(telemetry: Telemetry, method: string, role: 'operation' | 'read'): ArmAttemptHandle {
  return new AttemptSpan(telemetry, method, role);
}

/** A write's wait for the write limiter, as a metric. */
export function recordLimiterWait(telemetry: Telemetry, ms: number): void {
  telemetry.record('arm.write_limiter_wait', ms / 1000);
}
