/**
 * The telemetry port on OpenTelemetry. Loaded only when an exporter is configured (see `select-telemetry.ts`), so a
 * process with telemetry off never loads the SDK.
 *
 * Spans are ours (`recorded-span.ts`: what the SDK's span records, without its per-span overhead) and end in the
 * SDK's span processors and exporters; counters and histograms are summed here (`summed-metrics.ts`) and exported
 * by the SDK's metric reader.
 * No global is registered (tracer provider, context manager, propagator), and no context travels with promises: a
 * span's parent is the span the telemetry in hand is bound to (see telemetry-ports.ts). Several instances can live
 * in one process (tests), and nothing else in the process is traced by accident.
 */
import { SpanKind, type Meter } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type {
  Attributes,
  CounterName,
  HistogramName,
  SpanKind as PortSpanKind,
  SpanHandle,
  SpanOptions,
  Telemetry,
  TraceCarrier,
} from '../../app/telemetry-ports';
import { RecordedSpan, remoteParent, type SpanSink } from './recorded-span';
import { SummedCounter, SummedHistogram, histogramProducer } from './summed-metrics';
import type { TraceSamplerSettings } from '../../config/settings';
import { sampleDecision } from './trace-sampler';

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
  /** Which spans are sampled (OTEL_TRACES_SAMPLER / _ARG). Default: parent-based, always on. */
  sampler?: TraceSamplerSettings | undefined;
  /**
   * Spans exported in one batch at most (OTEL_BSP_MAX_EXPORT_BATCH_SIZE). Default {@link DEFAULT_SPAN_BATCH_SIZE}:
   * see there why not the SDK's 512.
   */
  spanBatchSize?: number | undefined;
}

export interface OtelTelemetry extends Telemetry {
  /** Flushes and stops the exporters. */
  shutdown(): Promise<void>;
}

/**
 * A batch is exported once it holds this many spans (or after the SDK's 5 s delay). The SDK's default, 512, keeps
 * ended spans alive for hundreds of changes under load: long enough that V8 sees most objects from the span's
 * allocation sites outlive a scavenge and starts allocating them straight in the old generation ("pretenuring"),
 * where they die only at full collections. In bench row 8b that made the tracing process spend about four times as
 * long in collection pauses (42 against 10 µs per change); with 64 its pauses are the untraced process's. At this
 * app's realistic rates (ARM allows a few writes a second) the 5 s delay, not the size, starts every export.
 */
export const DEFAULT_SPAN_BATCH_SIZE = 64;

const KINDS: Record<PortSpanKind, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

export function createOtelTelemetry(options: OtelTelemetryOptions): OtelTelemetry {
  const resource = resourceFromAttributes({ 'service.name': options.serviceName ?? 'apim-backend-changes' });
  const processor: SpanProcessor =
    options.spanExporter === undefined
      ? new NoopSpanProcessor()
      : options.exportEachSpan === true
        ? new SimpleSpanProcessor(options.spanExporter)
        : new BatchSpanProcessor(options.spanExporter, {
            maxExportBatchSize: options.spanBatchSize ?? DEFAULT_SPAN_BATCH_SIZE,
          });
  const scope = { name: 'apim-backend-changes' };
  const sink: SpanSink = {
    processor,
    resource,
    scope,
    sample: sampleDecision(options.sampler),
    bind: (span) => new BoundTelemetry(shared, span),
  };
  const histograms = new Map<HistogramName, SummedHistogram>();
  const meterProvider =
    options.metricExporter === undefined
      ? undefined
      : new MeterProvider({
          resource,
          readers: [
            new PeriodicExportingMetricReader({
              exporter: options.metricExporter,
              exportIntervalMillis: options.metricIntervalMs ?? 60_000,
              metricProducers: [histogramProducer(scope, () => histograms.values())],
            }),
          ],
        });
  const meter: Meter | undefined = meterProvider?.getMeter('apim-backend-changes');
  const counters = new Map<string, SummedCounter>();
  const shared: Shared = {
    sink,
    count(name, value, attributes) {
      if (meter === undefined) return;
      let counter = counters.get(name);
      if (counter === undefined) {
        const summed = (counter = new SummedCounter());
        counters.set(name, summed);
        meter.createObservableCounter(name).addCallback((result) => summed.observe(result));
      }
      counter.add(value, attributes);
    },
    record(name, value, attributes) {
      if (meter === undefined) return;
      let histogram = histograms.get(name);
      if (histogram === undefined) histograms.set(name, (histogram = new SummedHistogram(name, 's')));
      histogram.record(value, attributes);
    },
    async flush() {
      await processor.forceFlush();
      await meterProvider?.forceFlush();
    },
  };
  const root = new BoundTelemetry(shared, undefined);
  return Object.assign(root, {
    async shutdown(): Promise<void> {
      await processor.shutdown();
      await meterProvider?.shutdown();
    },
  });
}

/** What every bound telemetry of one instance shares: the span sink and the metrics. */
interface Shared extends Pick<Telemetry, 'count' | 'record' | 'flush'> {
  readonly sink: SpanSink;
}

/**
 * The telemetry bound to `parent` (undefined: the root, whose spans start traces or continue remote ones). A class:
 * one small object per span that hands it on, its methods shared.
 */
class BoundTelemetry implements Telemetry {
  readonly enabled = true;

  constructor(
    private readonly shared: Shared,
    private readonly parent: RecordedSpan | undefined,
  ) {}

  inSpan<T>(
    name: string,
    spanOptions: SpanOptions,
    fn: (span: SpanHandle) => Promise<T>,
    fulfilled?: (span: SpanHandle, value: T) => void,
  ): Promise<T> {
    const span = this.startSpan(name, spanOptions);
    let running: Promise<T>;
    try {
      running = fn(span);
    } catch (error) {
      span.fail(error);
      span.end();
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what fn threw, as an async function would
      return Promise.reject(error);
    }
    // One reaction on fn's promise, rather than an async wrapper's own promise and await (two more jobs per span).
    return running.then(
      (value) => {
        try {
          fulfilled?.(span, value);
        } finally {
          span.end(); // ended even when describing it threw
        }
        return value;
      },
      (error: unknown) => {
        span.fail(error);
        span.end();
        throw error;
      },
    );
  }

  startSpan(name: string, options: SpanOptions): RecordedSpan {
    return new RecordedSpan(
      this.shared.sink,
      name,
      KINDS[options.kind ?? 'internal'],
      options.parent === undefined ? this.parent?.spanContext() : remoteParent(options.parent),
      options.attributes,
      options.parent === undefined ? this.parent?.wallOffset : undefined,
    );
  }

  carrier(): TraceCarrier | undefined {
    return this.parent?.carrier();
  }

  count(name: CounterName, value: number, attributes?: Attributes): void {
    this.shared.count(name, value, attributes);
  }

  record(name: HistogramName, value: number, attributes?: Attributes): void {
    this.shared.record(name, value, attributes);
  }

  flush(): Promise<void> {
    return this.shared.flush();
  }
}
