/**
 * Our spans: what the SDK's span class records, for the few things the app does with a span (attributes, a failure,
 * an end), handed to the SDK's span processor when they end — so the SDK's BatchSpanProcessor/SimpleSpanProcessor
 * and every exporter (OTLP, console, ours to Azure Monitor) take them unchanged (they read `ReadableSpan`).
 *
 * Why not the SDK's Tracer and span (`BasicTracerProvider`): per span they sanitise attributes twice, consult a
 * sampler through a Context, set up self-observability metrics, take three clock readings and check span limits on
 * every attribute, and each active span needs a new Context object. That was most of the throughput tracing cost
 * (bench row 8b). The rules kept: the standard samplers (trace-sampler.ts; by default parent-based: a child of an
 * unsampled remote parent is not exported),
 * random 16/8-byte ids, attributes ignored once a span has ended, an end counted once.
 */
import { randomBytes } from 'node:crypto';
import {
  SpanStatusCode,
  TraceFlags,
  type HrTime,
  type Link,
  type SpanContext,
  type SpanStatus,
} from '@opentelemetry/api';
import { TraceState, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { SpanKind } from '@opentelemetry/api';
import type { AttributeValue, Attributes, SpanHandle, Telemetry, TraceCarrier } from '../../app/telemetry-ports';
import type { SampleDecision } from './trace-sampler';

/** What every span of one telemetry shares: where ended spans go, and what they are reported as coming from. */
export interface SpanSink {
  readonly processor: Pick<SpanProcessor, 'onEnd'>;
  /** Whether a new span is sampled (trace-sampler.ts; OTEL_TRACES_SAMPLER). */
  readonly sample: SampleDecision;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  /** The telemetry bound to `span` (its spans are `span`'s children). */
  readonly bind: (span: RecordedSpan) => Telemetry;
}

/**
 * Random ids as hex, cut from a pool of random bytes drawn 32 KiB at a time (crypto-random; the SDK's
 * RandomIdGenerator draws Math.random per 4 bytes and encodes each id on its own — a tenth of tracing's cost).
 * A draw costs about 5 µs here whatever its size up to 32 KiB (OpenSSL 3's cost per call), encoding about 1 ns per
 * byte: at four spans (48 random bytes) per change, one draw serves about 680 changes.
 * Never all zeros (invalid in W3C Trace Context).
 */
const POOL_BYTES = 32_768;
let pool = '';
let poolAt = 0;
function randomHex(chars: number): string {
  for (;;) {
    if (poolAt + chars > pool.length) {
      pool = randomBytes(POOL_BYTES).toString('hex');
      poolAt = 0;
    }
    const id = pool.slice(poolAt, (poolAt += chars));
    if (id !== (chars === 32 ? ZERO_TRACE_ID : ZERO_SPAN_ID)) return id;
  }
}
const ZEROS = /^0+$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });
/** No links, no events: one shared empty list (exporters only read them). */
const NONE = Object.freeze([]) as unknown as never[];

/** Milliseconds as HrTime ([seconds, nanoseconds]). */
function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1_000_000);
  return nanos >= 1_000_000_000 ? [seconds + 1, nanos - 1_000_000_000] : [seconds, nanos];
}

/** A name that reads as a type or code (`TypeError`, `ResourceNotFound`, `HTTP 503`), not as free text. */
const TYPE_NAME = /^[A-Za-z][\w .:-]{0,99}$/;

/**
 * An error's type, never its message: messages may quote input, and input may hold a secret. The type is the
 * `name` of an Error or of a `{ name }` the app reports (an ARM error code, an HTTP status), when it reads as one.
 */
function errorType(error: unknown): string {
  if (typeof error !== 'object' || error === null) return typeof error;
  const { name } = error as { name?: unknown };
  if (typeof name === 'string' && TYPE_NAME.test(name)) return name;
  return error instanceof Error ? 'Error' : 'Object';
}

export class RecordedSpan implements ReadableSpan, SpanHandle {
  readonly attributes: Record<string, AttributeValue> = {};
  status: SpanStatus = UNSET;
  events: TimedEvent[] = NONE;
  readonly links: Link[] = NONE;
  ended = false;
  readonly parentSpanContext?: SpanContext;
  private readonly context: SpanContext;
  /**
   * Monotonic start, and the duration once ended: durations come from the monotonic clock. The HrTime pairs exporters
   * read are made when they read them (spans wait in the batch processor's buffer: small spans are less for the
   * garbage collector to move).
   */
  private readonly startMono: number;
  /**
   * The wall clock's lead over the monotonic one (ms), read when the trace's local root starts and handed to its
   * descendants, as the SDK's AnchoredClock does: a trace's times stay consistent with each other, and a child span
   * costs one clock read, not two.
   */
  readonly wallOffset: number;
  private elapsedMs = -1;
  private bound: Telemetry | undefined;

  constructor(
    readonly sink: SpanSink,
    readonly name: string,
    readonly kind: SpanKind,
    parentSpanContext: SpanContext | undefined,
    attributes: Attributes | undefined,
    /** The local parent's wallOffset; none for a local root (a new trace, or a remote parent's child). */
    wallOffset?: number,
  ) {
    if (parentSpanContext === undefined) {
      const traceId = randomHex(32);
      const traceFlags = sink.sample(traceId, undefined) ? TraceFlags.SAMPLED : TraceFlags.NONE;
      this.context = { traceId, spanId: randomHex(16), traceFlags };
    } else {
      // The sampler decides (by default parent-based, as the SDK's: a child is sampled when its parent is).
      const { traceId } = parentSpanContext;
      const traceFlags = sink.sample(traceId, parentSpanContext) ? TraceFlags.SAMPLED : TraceFlags.NONE;
      this.context = { traceId, spanId: randomHex(16), traceFlags };
      if (parentSpanContext.traceState !== undefined) this.context.traceState = parentSpanContext.traceState;
      this.parentSpanContext = parentSpanContext;
    }
    if (attributes !== undefined) this.set(attributes);
    this.startMono = performance.now();
    this.wallOffset = wallOffset ?? Date.now() - this.startMono;
  }

  /** Telemetry bound to this span, made when first asked for (a span whose work starts no span never needs one). */
  get telemetry(): Telemetry {
    return (this.bound ??= this.sink.bind(this));
  }

  get startTime(): HrTime {
    return hrTime(this.wallOffset + this.startMono);
  }

  get endTime(): HrTime {
    return this.ended ? hrTime(this.wallOffset + this.startMono + this.elapsedMs) : [0, 0];
  }

  get duration(): HrTime {
    return this.ended ? hrTime(this.elapsedMs) : [-1, -1];
  }

  spanContext(): SpanContext {
    return this.context;
  }

  get resource(): Resource {
    return this.sink.resource;
  }

  get instrumentationScope(): InstrumentationScope {
    return this.sink.scope;
  }

  get droppedAttributesCount(): number {
    return 0;
  }

  get droppedEventsCount(): number {
    return 0;
  }

  get droppedLinksCount(): number {
    return 0;
  }

  /** Adds attributes; undefined values are skipped, and nothing changes once the span has ended. */
  set(attributes: Attributes): void {
    if (this.ended) return;
    for (const key in attributes) {
      const value = attributes[key];
      if (value !== undefined) this.attributes[key] = value;
    }
  }

  /** Failed: the error's type as `error.type`, an `exception` event and the status message (never its message). */
  fail(error: unknown): void {
    if (this.ended) return;
    const type = errorType(error);
    this.attributes['error.type'] = type;
    const event: TimedEvent = {
      name: 'exception',
      attributes: { 'exception.type': type },
      time: hrTime(this.wallOffset + performance.now()),
      droppedAttributesCount: 0,
    };
    this.events = this.events === NONE ? [event] : [...this.events, event];
    this.status = { code: SpanStatusCode.ERROR, message: type };
  }

  end(): void {
    if (this.ended) return;
    this.elapsedMs = Math.max(0, performance.now() - this.startMono);
    this.ended = true;
    // Unsampled (the sampler's choice, or a child of an unsampled parent): it carries the trace on, not exported.
    if ((this.context.traceFlags & TraceFlags.SAMPLED) !== 0) this.sink.processor.onEnd(this);
  }

  /** This span as W3C Trace Context (what W3CTraceContextPropagator.inject writes). */
  carrier(): TraceCarrier {
    const { traceId, spanId, traceFlags, traceState } = this.context;
    const traceparent = `00-${traceId}-${spanId}-${(traceFlags & TraceFlags.SAMPLED) !== 0 ? '01' : '00'}`;
    const tracestate = traceState?.serialize();
    return tracestate === undefined || tracestate === '' ? { traceparent } : { traceparent, tracestate };
  }
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A remote parent from a carrier (as W3CTraceContextPropagator.extract reads it), or undefined when malformed. */
export function remoteParent(carrier: TraceCarrier): SpanContext | undefined {
  const match = TRACEPARENT.exec(carrier.traceparent.trim());
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  if (version === 'ff' || ZEROS.test(traceId) || ZEROS.test(spanId)) return undefined;
  const context: SpanContext = { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true };
  if (carrier.tracestate !== undefined) context.traceState = new TraceState(carrier.tracestate);
  return context;
}
