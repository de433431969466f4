/**
 * The telemetry port: spans and metrics as the app needs them, nothing of OpenTelemetry's API. The use cases and
 * the function adapters call this; `shared/adapters/telemetry` implements it with the OpenTelemetry SDK, loaded only
 * when an exporter is configured. With telemetry off, {@link noTelemetry} costs one function call per span.
 *
 * The parent of a span is explicit: a `Telemetry` is bound to a span (or to none, the root), and the work done inside
 * a span is handed that span's `telemetry`. No context travels implicitly with promises: V8's promise hooks, which
 * did that, made every promise of the process pay (most of what tracing cost per change, bench row 8b).
 *
 * Attribute values must never hold secrets: callers pass ids, names, counts and status codes, never bodies, headers
 * or messages that might quote them.
 */

export type AttributeValue = string | number | boolean;
export type Attributes = Readonly<Record<string, AttributeValue | undefined>>;

/** W3C Trace Context, as carried on HTTP headers, Service Bus application properties and CloudEvents. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

export type SpanKind = 'server' | 'client' | 'producer' | 'consumer' | 'internal';

/** The span a callback runs in. */
export interface SpanHandle {
  /** Adds attributes (undefined values are skipped). */
  set(attributes: Attributes): void;
  /**
   * Marks the span failed; the `name` of the Error or of a `{ name }` (an ARM error code, `HTTP 503`) is recorded as
   * its type, never a message, which may quote input.
   */
  fail(error: unknown): void;
  /** Telemetry bound to this span: its spans are this span's children, its `carrier()` is this span. */
  readonly telemetry: Telemetry;
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Continue this remote trace instead of the bound span (an inbound traceparent). */
  parent?: TraceCarrier | undefined;
}

/** Counters, by name. */
export type CounterName =
  /** Changes finished, by operation and status. */
  | 'changes'
  /** Writes skipped because they would change nothing (SKIP_UNCHANGED). */
  | 'changes.unchanged'
  /** ARM sends, by method and status. */
  | 'arm.attempts'
  /** ARM answers 429 (throttled). */
  | 'arm.throttled'
  /** ARM answers 412 (precondition failed: the ETag moved). */
  | 'arm.precondition_failed'
  /**
   * API Management circuit-breaker events handled, by type (opened, closed), decision (the action taken, duplicate
   * for a redelivery, retry when the trigger is asked to redeliver), mode and reason.
   */
  | 'breaker.events';

/** Histograms (seconds), by name. */
export type HistogramName =
  /** Time of one change, retries included. */
  | 'change.duration'
  /** Time waited before an ARM retry (Retry-After or backoff). */
  | 'arm.retry_wait'
  /** Time a write waited for the subscription's write limiter. */
  | 'arm.write_limiter_wait';

export interface Telemetry {
  /** False for {@link noTelemetry}: callers may skip building attributes. */
  readonly enabled: boolean;
  /**
   * Runs `fn` in a new span, a child of the bound span (or of `options.parent`); ends it when `fn` settles. Work
   * inside that should be traced as the new span's children gets `span.telemetry`. `fulfilled` describes the span
   * from `fn`'s value just before it ends, in the same reaction (no promise of its own); with telemetry off, where
   * there is no span, it is not called.
   */
  inSpan<T>(
    name: string,
    options: SpanOptions,
    fn: (span: SpanHandle) => Promise<T>,
    fulfilled?: (span: SpanHandle, value: T) => void,
  ): Promise<T>;
  /**
   * Starts a span that the caller ends, a child of the bound span. For spans whose end is not the end of a
   * callback: one ARM send.
   */
  startSpan(name: string, options: SpanOptions): SpanHandle & { end(): void };
  /** The bound span as W3C Trace Context, to put on an outgoing message or event; undefined when off or unbound. */
  carrier(): TraceCarrier | undefined;
  count(name: CounterName, value: number, attributes?: Attributes): void;
  record(name: HistogramName, value: number, attributes?: Attributes): void;
  /** Exports what is buffered (before a process ends, or a test reads the exporter). */
  flush(): Promise<void>;
}

/** Telemetry off: spans are plain calls, metrics are dropped. */
export const noTelemetry: Telemetry = {
  enabled: false,
  inSpan: (_name, _options, fn) => fn(NO_SPAN),
  startSpan: () => NO_SPAN,
  carrier: () => undefined,
  count: () => undefined,
  record: () => undefined,
  flush: () => Promise.resolve(),
};

const NO_SPAN: SpanHandle & { end(): void } = {
  set: () => undefined,
  fail: () => undefined,
  end: () => undefined,
  telemetry: noTelemetry,
};

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A carrier from untrusted input (a header, a message property): undefined unless it is a well-formed traceparent. */
export function carrierFrom(traceparent: unknown, tracestate?: unknown): TraceCarrier | undefined {
  if (typeof traceparent !== 'string') return undefined;
  const value = traceparent.trim().toLowerCase();
  if (!TRACEPARENT.test(value) || /^[0-9a-f]{2}-0{32}-/.test(value) || /-0{16}-/.test(value)) return undefined;
  return typeof tracestate === 'string' && tracestate.length > 0 && tracestate.length <= 512
    ? { traceparent: value, tracestate }
    : { traceparent: value };
}
