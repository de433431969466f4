/**
 * The OpenTelemetry adapter's cheap paths behave as the SDK's own: counters summed in the adapter export what the
 * SDK's counters would, the carrier is what the W3C propagator writes, a span ends however its callback ends.
 */
import { ROOT_CONTEXT, trace, type SpanContext } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createOtelTelemetry } from '../../shared/adapters/telemetry/otel-telemetry';
import { processChangeTraced } from '../../shared/app/traced-change';
import type { ProcessDeps } from '../../shared/app/process-change';
import { silentLogger } from '../../shared/app/logger-ports';
import { tracedChangePorts } from '../../functions/traced-ports';
import { keepingPublisher, manualClock, memoryArm, memoryLedger } from '../support/memory-ports';

async function exportedPoints(run: (telemetry: ReturnType<typeof createOtelTelemetry>) => void) {
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const telemetry = createOtelTelemetry({ metricExporter: metrics, metricIntervalMs: 3_600_000 });
  run(telemetry);
  await telemetry.flush();
  const points = metrics
    .getMetrics()
    .at(-1)!
    .scopeMetrics.flatMap((scope) => scope.metrics)
    .flatMap((m) =>
      (m.dataPoints as Array<{ value: unknown; attributes: unknown }>).map((p) => ({
        name: m.descriptor.name,
        value: p.value,
        attributes: p.attributes,
      })),
    );
  await telemetry.shutdown();
  return points;
}

describe('counters', () => {
  it('sum per attribute set, whatever the key order; 429 and "429" stay apart; undefined values are dropped', async () => {
    const points = await exportedPoints((t) => {
      t.count('arm.attempts', 1, { method: 'PUT', status: 429 });
      t.count('arm.attempts', 2, { status: 429, method: 'PUT' });
      t.count('arm.attempts', 1, { method: 'PUT', status: '429', role: undefined });
      t.count('changes', 1);
    });
    expect(points).toEqual(
      expect.arrayContaining([
        { name: 'arm.attempts', value: 3, attributes: { method: 'PUT', status: 429 } },
        { name: 'arm.attempts', value: 1, attributes: { method: 'PUT', status: '429' } },
        { name: 'changes', value: 1, attributes: {} },
      ]),
    );
    expect(points).toHaveLength(3);
  });

  it('report running totals at each collection', async () => {
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const telemetry = createOtelTelemetry({ metricExporter: metrics, metricIntervalMs: 3_600_000 });
    telemetry.count('changes', 1, { status: 'succeeded' });
    await telemetry.flush();
    telemetry.count('changes', 1, { status: 'succeeded' });
    await telemetry.flush();
    const last = metrics.getMetrics().at(-1)!.scopeMetrics[0]!.metrics[0]!;
    expect(last.dataPoints).toEqual([expect.objectContaining({ value: 2, attributes: { status: 'succeeded' } })]);
    await telemetry.shutdown();
  });
});

describe('cardinality', () => {
  it('2000 attribute sets at most: past 1999, further sets are summed in one overflow set (as the SDK does)', async () => {
    const points = await exportedPoints((t) => {
      for (let i = 0; i < 2005; i++) t.count('arm.attempts', 1, { status: i });
      t.count('arm.attempts', 1, { status: 0 }); // a known set still counts as itself
    });
    expect(points).toHaveLength(2000);
    expect(points).toContainEqual({ name: 'arm.attempts', value: 6, attributes: { 'otel.metric.overflow': true } });
    expect(points).toContainEqual({ name: 'arm.attempts', value: 2, attributes: { status: 0 } });
  });
});

describe('histograms', () => {
  it('export what the SDK histogram would: per attribute set, buckets, count, sum, min and max', async () => {
    const values = [0, 0.004, 3, 5, 7.5, 12, 99, 1000, 20_000, -1, Number.NaN];
    const sets = [
      { operation: 'createOrUpdate', status: 'succeeded' },
      { status: 'succeeded', operation: 'createOrUpdate', absent: undefined }, // the same set
      { operation: 'delete', status: 'failed' },
    ];
    const read = async (exporter: InMemoryMetricExporter, flush: () => Promise<void>) => {
      await flush();
      return exporter
        .getMetrics()
        .at(-1)!
        .scopeMetrics.flatMap((scope) => scope.metrics)
        .filter((m) => m.descriptor.name === 'change.duration')
        .map((m) => ({
          name: m.descriptor.name,
          unit: m.descriptor.unit,
          valueType: m.descriptor.valueType,
          type: m.dataPointType,
          temporality: m.aggregationTemporality,
          points: m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
        }));
    };

    const ourExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const telemetry = createOtelTelemetry({ metricExporter: ourExporter, metricIntervalMs: 3_600_000 });
    const sdkExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const sdk = new MeterProvider({
      readers: [new PeriodicExportingMetricReader({ exporter: sdkExporter, exportIntervalMillis: 3_600_000 })],
    });
    const histogram = sdk.getMeter('x').createHistogram('change.duration', { unit: 's' });
    for (const [i, value] of values.entries()) {
      const attributes = sets[i % sets.length]!;
      telemetry.record('change.duration', value, attributes);
      histogram.record(value, Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined)));
    }
    const ours = await read(ourExporter, () => telemetry.flush());
    expect(ours).toEqual(await read(sdkExporter, () => sdk.forceFlush()));
    expect(ours[0]!.points).toHaveLength(2);
    await telemetry.shutdown();
    await sdk.shutdown();
  });
});

describe('spans', () => {
  it('the carrier is what the W3C propagator would write, tracestate included', async () => {
    const telemetry = createOtelTelemetry({ spanExporter: new InMemorySpanExporter(), exportEachSpan: true });
    const parent = {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    };
    const propagator = new W3CTraceContextPropagator();
    const [carried, injected] = await telemetry.inSpan('outer', { parent }, (span) => {
      const written: Record<string, string> = {};
      const context = (span as unknown as { spanContext(): SpanContext }).spanContext();
      propagator.inject(trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext(context)), written, {
        set: (carrier, key, value) => void (carrier[key] = value),
      });
      return Promise.resolve([span.telemetry.carrier(), written]);
    });
    expect(carried).toEqual(injected);
    expect(carried?.tracestate).toBe(parent.tracestate);
    expect(telemetry.carrier()).toBeUndefined(); // bound to no span
  });

  it('spans carry what exporters read: ids, parent, kind, times, attributes, status; an ended span takes no more', async () => {
    const spans = new InMemorySpanExporter();
    const telemetry = createOtelTelemetry({ spanExporter: spans, exportEachSpan: true });
    const before = Date.now();
    let inner: { set(a: Record<string, string>): void } | undefined;
    await telemetry.inSpan('outer', { kind: 'server', attributes: { a: 1, skipped: undefined } }, async (outer) => {
      await outer.telemetry.inSpan('inner', {}, (span) => {
        inner = span;
        span.set({ b: 'x' });
        return new Promise((resolve) => setTimeout(resolve, 5));
      });
    });
    inner!.set({ late: 'no' });
    const [child, parent] = spans.getFinishedSpans();
    expect(parent!.spanContext()).toEqual({
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      spanId: expect.stringMatching(/^[0-9a-f]{16}$/),
      traceFlags: 1,
    });
    expect(parent!.parentSpanContext).toBeUndefined();
    expect(parent!.kind).toBe(1); // SpanKind.SERVER
    expect(parent!.attributes).toEqual({ a: 1 });
    expect(child!.spanContext().traceId).toBe(parent!.spanContext().traceId);
    expect(child!.spanContext().spanId).not.toBe(parent!.spanContext().spanId);
    expect(child!.attributes).toEqual({ b: 'x' });
    expect(child!.status).toEqual({ code: 0 });
    expect(child!.ended).toBe(true);
    const ms = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;
    expect(ms(child!.startTime)).toBeGreaterThanOrEqual(before - 1);
    expect(ms(child!.startTime)).toBeGreaterThanOrEqual(ms(parent!.startTime)); // one clock per trace
    expect(ms(child!.duration)).toBeGreaterThanOrEqual(4);
    expect(ms(child!.endTime) - ms(child!.startTime)).toBeCloseTo(ms(child!.duration), 3);
    expect(ms(parent!.endTime)).toBeGreaterThanOrEqual(ms(child!.endTime) - 1);
    expect(child!.resource.attributes['service.name']).toBe('apim-backend-changes');
    expect(child!.instrumentationScope.name).toBe('apim-backend-changes');
  });

  it('a trace its caller did not sample is carried on (flags 00) but not exported', async () => {
    const spans = new InMemorySpanExporter();
    const telemetry = createOtelTelemetry({ spanExporter: spans, exportEachSpan: true });
    const parent = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' };
    const carried = await telemetry.inSpan('outer', { parent }, (outer) =>
      outer.telemetry.inSpan('inner', {}, async (inner) => inner.telemetry.carrier()),
    );
    expect(carried?.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/);
    expect(spans.getFinishedSpans()).toHaveLength(0);
  });

  it('a callback that throws at once still ends its span, failed, and the call rejects', async () => {
    const spans = new InMemorySpanExporter();
    const telemetry = createOtelTelemetry({ spanExporter: spans, exportEachSpan: true });
    await expect(
      telemetry.inSpan('sync-throw', {}, () => {
        throw new RangeError('bad');
      }),
    ).rejects.toThrow(RangeError);
    const [span] = spans.getFinishedSpans();
    expect(span!.name).toBe('sync-throw');
    expect(span!.status).toEqual({ code: 2, message: 'RangeError' });
  });

  describe('the change span', () => {
    const change = {
      requestId: 'span-1',
      operation: 'createOrUpdate',
      target:
        '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1/backends/b1',
      body: { properties: { url: 'https://b1.example/', protocol: 'http' } },
    };
    const delivery = { fallbackRequestId: 'unused', onTransient: 'answer' as const };

    function setUp(ledger: ProcessDeps['ledger'], arm = memoryArm()) {
      const spans = new InMemorySpanExporter();
      const telemetry = createOtelTelemetry({ spanExporter: spans, exportEachSpan: true });
      const ports = { arm: arm.client, ledger, publisher: keepingPublisher().port };
      const deps: ProcessDeps = {
        ...ports,
        clock: manualClock(),
        logger: silentLogger,
        settings: { allowDelete: true, deadlineMs: 10_000, skipUnchanged: true },
        leaseMs: 60_000,
        traced: (t) => tracedChangePorts(ports, t),
      };
      return { spans, telemetry, deps };
    }

    it("holds what the change did, and its ports' spans are its children", async () => {
      const { spans, telemetry, deps } = setUp(memoryLedger());
      const result = await telemetry.inSpan('trigger', {}, (span) =>
        processChangeTraced(span.telemetry, change, delivery, deps),
      );
      expect(result.kind === 'outcome' && result.outcome.status).toBe('succeeded');
      const finished = spans.getFinishedSpans();
      const span = finished.find((s) => s.name === 'change')!;
      expect(span.attributes).toMatchObject({
        'change.requestId': 'span-1',
        'change.operation': 'createOrUpdate',
        'change.status': 'succeeded',
        'change.result': 'outcome',
      });
      const children = finished.filter((s) => s.parentSpanContext?.spanId === span.spanContext().spanId);
      expect(children.map((s) => s.name)).toEqual(expect.arrayContaining(['ledger.claim', 'publish result']));
      expect(finished.filter((s) => s.name === 'change')).toHaveLength(1);
    });

    it('a failed change is a failed span whose type is the error code of the outcome', async () => {
      const arm = memoryArm();
      arm.throttle(true);
      const { spans, telemetry, deps } = setUp(memoryLedger(), arm);
      const result = await processChangeTraced(telemetry, change, delivery, deps);
      const code = result.kind === 'outcome' ? result.outcome.error?.code : undefined;
      expect(result.kind === 'outcome' && result.outcome.status).toBe('failed');
      expect(code).toMatch(/^[A-Za-z]+$/);
      const span = spans.getFinishedSpans().find((s) => s.name === 'change')!;
      expect(span.attributes).toMatchObject({
        'change.status': 'failed',
        'change.errorCode': code,
        'error.type': code,
      });
      expect(span.status).toEqual({ code: 2, message: code });
    });

    it('ends failed, and the call rejects, when a port throws (the trigger redelivers)', async () => {
      const ledger = memoryLedger();
      ledger.claim = () => Promise.reject(new TypeError('table unreachable'));
      const { spans, telemetry, deps } = setUp(ledger);
      await expect(processChangeTraced(telemetry, change, delivery, deps)).rejects.toThrow(TypeError);
      const span = spans.getFinishedSpans().find((s) => s.name === 'change')!;
      expect(span.status).toEqual({ code: 2, message: 'TypeError' });
      expect(span.attributes['error.type']).toBe('TypeError');
    });
  });
});
