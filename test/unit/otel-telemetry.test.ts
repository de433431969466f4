/**
 * The OpenTelemetry adapter's cheap paths behave as the SDK's own: counters summed in the adapter export what the
 * SDK's counters would, the carrier is what the W3C propagator writes, a span ends however its callback ends.
 */
import { ROOT_CONTEXT, trace, type SpanContext } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createOtelTelemetry } from '../../shared/adapters/telemetry/otel-telemetry';

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
      return Promise.resolve([telemetry.carrier(), written]);
    });
    expect(carried).toEqual(injected);
    expect(carried?.tracestate).toBe(parent.tracestate);
    expect(telemetry.carrier()).toBeUndefined(); // outside any span
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
});
