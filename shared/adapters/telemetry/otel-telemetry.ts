/**
 * The telemetry port on the OpenTelemetry SDK. Loaded only when an exporter is configured (see
 * `select-telemetry.ts`), so a process with telemetry off never loads the SDK.
 *
 * No global is registered (tracer provider, context manager, propagator): the app's spans are made through this
 * object, with the active span kept in an AsyncLocalStorage of our own. Several instances can live in one process
 * (tests), and nothing else in the process is traced by accident.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  defaultTextMapGetter,
  isSpanContextValid,
  trace,
  type Context,
  type Histogram,
  type Meter,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type {
  Attributes,
  CounterName,
  HistogramName,
  SpanHandle,
  SpanKind as PortSpanKind,
  SpanOptions,
  Telemetry,
  TraceCarrier,
} from '../../app/telemetry-ports';
import { SummedCounter } from './summed-counter';

export interface OtelTelemetryOptions {
  /** Where spans go; none means no tracing (metrics only). */
  spanExporter?: SpanExporter | undefined;
  /** Export spans one by one as they end (console, in-memory) instead of in batches (network exporters). */
  exportEachSpan?: boolean;
  /** Where metrics go; none means no metrics. */
  metricExporter?: PushMetricExporter | undefined;
  /** Metric export interval. Default 60 s. */
  metricIntervalMs?: number;
  serviceName?: string;
}

export interface OtelTelemetry extends Telemetry {
  /** Flushes and stops the exporters. */
  shutdown(): Promise<void>;
}

const KINDS: Record<PortSpanKind, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

/**
 * Attributes without the undefined values, or undefined when none is left (the SDK then skips its own copy). A
 * `for…in` over the caller's object: no entries array, no copy when nothing was given.
 */
function clean(attributes: Attributes | undefined): Record<string, string | number | boolean> | undefined {
  let out: Record<string, string | number | boolean> | undefined;
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined) (out ??= {})[key] = value;
  }
  return out;
}

/** An error's type, never its message: messages may quote input, and input may hold a secret. */
function errorType(error: unknown): string {
  if (error instanceof Error) return error.name;
  return typeof error === 'object' && error !== null ? 'Object' : typeof error;
}

/**
 * The port's handle on an SDK span. A class rather than closures made per span: one small object per span on the
 * hot path (4+ spans per change), methods shared on the prototype.
 */
class OtelSpanHandle implements SpanHandle {
  constructor(readonly span: Span) {}

  set(attributes: Attributes): void {
    for (const key in attributes) {
      const value = attributes[key];
      if (value !== undefined) this.span.setAttribute(key, value);
    }
  }

  fail(error: unknown): void {
    const type = errorType(error);
    this.span.setAttribute('error.type', type);
    this.span.addEvent('exception', { 'exception.type': type });
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: type });
  }

  end(): void {
    this.span.end();
  }
}

export function createOtelTelemetry(options: OtelTelemetryOptions): OtelTelemetry {
  const resource = resourceFromAttributes({ 'service.name': options.serviceName ?? 'apim-backend-changes' });
  const spanProcessors =
    options.spanExporter === undefined
      ? []
      : [
          options.exportEachSpan === true
            ? new SimpleSpanProcessor(options.spanExporter)
            : new BatchSpanProcessor(options.spanExporter),
        ];
  const tracerProvider = new BasicTracerProvider({ resource, spanProcessors });
  const tracer: Tracer = tracerProvider.getTracer('apim-backend-changes');
  const meterProvider =
    options.metricExporter === undefined
      ? undefined
      : new MeterProvider({
          resource,
          readers: [
            new PeriodicExportingMetricReader({
              exporter: options.metricExporter,
              exportIntervalMillis: options.metricIntervalMs ?? 60_000,
            }),
          ],
        });
  const meter: Meter | undefined = meterProvider?.getMeter('apim-backend-changes');
  const counters = new Map<string, SummedCounter>();
  const histograms = new Map<string, Histogram>();
  const propagator = new W3CTraceContextPropagator();
  const storage = new AsyncLocalStorage<Context>();
  const active = (): Context => storage.getStore() ?? ROOT_CONTEXT;

  const spanStart = (
    options: SpanOptions,
  ): { kind: SpanKind; attributes?: Record<string, string | number | boolean> } => {
    const attributes = clean(options.attributes);
    const kind = KINDS[options.kind ?? 'internal'];
    return attributes === undefined ? { kind } : { kind, attributes };
  };
  const parentOf = (options: SpanOptions): Context =>
    options.parent === undefined
      ? active()
      : propagator.extract(ROOT_CONTEXT, { ...options.parent }, defaultTextMapGetter);

  return {
    enabled: true,
    inSpan<T>(name: string, spanOptions: SpanOptions, fn: (span: SpanHandle) => Promise<T>): Promise<T> {
      const parent = parentOf(spanOptions);
      const span = tracer.startSpan(name, spanStart(spanOptions), parent);
      const handle = new OtelSpanHandle(span);
      let running: Promise<T>;
      try {
        running = storage.run(trace.setSpan(parent, span), fn, handle);
      } catch (error) {
        handle.fail(error);
        span.end();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what fn threw, as an async function would
        return Promise.reject(error);
      }
      // One reaction on fn's promise, rather than an async wrapper's own promise and await (two more jobs per span).
      return running.then(
        (value) => {
          span.end();
          return value;
        },
        (error: unknown) => {
          handle.fail(error);
          span.end();
          throw error;
        },
      );
    },
    startSpan(name, spanOptions) {
      return new OtelSpanHandle(tracer.startSpan(name, spanStart(spanOptions), parentOf(spanOptions)));
    },
    carrier(): TraceCarrier | undefined {
      // What W3CTraceContextPropagator.inject writes, read straight from the span (no carrier object, no setter).
      const context = trace.getSpanContext(active());
      if (context === undefined || !isSpanContextValid(context)) return undefined;
      const flags = (context.traceFlags & TraceFlags.SAMPLED) !== 0 ? '01' : '00';
      const traceparent = `00-${context.traceId}-${context.spanId}-${flags}`;
      const tracestate = context.traceState?.serialize();
      return tracestate === undefined || tracestate === '' ? { traceparent } : { traceparent, tracestate };
    },
    count(name: CounterName, value: number, attributes?: Attributes): void {
      if (meter === undefined) return;
      let counter = counters.get(name);
      if (counter === undefined) {
        const summed = (counter = new SummedCounter());
        counters.set(name, summed);
        meter.createObservableCounter(name).addCallback((result) => summed.observe(result));
      }
      counter.add(value, attributes);
    },
    record(name: HistogramName, value: number, attributes?: Attributes): void {
      if (meter === undefined) return;
      let histogram = histograms.get(name);
      if (histogram === undefined) histograms.set(name, (histogram = meter.createHistogram(name, { unit: 's' })));
      histogram.record(value, clean(attributes));
    },
    async flush(): Promise<void> {
      await tracerProvider.forceFlush();
      await meterProvider?.forceFlush();
    },
    async shutdown(): Promise<void> {
      await tracerProvider.shutdown();
      await meterProvider?.shutdown();
    },
  };
}
