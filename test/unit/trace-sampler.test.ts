/**
 * OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG: the specification's samplers, as the SDK's tracer provider reads
 * them. A sampled-out trace still carries its traceparent (flags 00) on; none of its spans is exported, and a trace
 * is kept or dropped whole, by the same trace ids the SDK's ratio sampler keeps.
 */
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { InMemorySpanExporter, SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { createOtelTelemetry } from '../../shared/adapters/telemetry/otel-telemetry';
import type { TraceSamplerSettings } from '../../shared/config/settings';
import { loadConfig } from '../../shared/config/settings';

const SAMPLED_PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const UNSAMPLED_PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';

function telemetryWith(sampler: TraceSamplerSettings) {
  const exporter = new InMemorySpanExporter();
  const telemetry = createOtelTelemetry({ spanExporter: exporter, exportEachSpan: true, sampler });
  return { exporter, telemetry };
}

/** Runs one trace (a root span with a child) and returns the root's trace id and the carrier seen in the child. */
async function oneTrace(telemetry: ReturnType<typeof createOtelTelemetry>, parent?: string) {
  return telemetry.inSpan('trigger', parent === undefined ? {} : { parent: { traceparent: parent } }, (trigger) =>
    trigger.telemetry.inSpan('change', {}, (change) => Promise.resolve(change.telemetry.carrier()!)),
  );
}

describe('settings', () => {
  it('default to parentbased_always_on with ratio 1, read names case-insensitively', () => {
    expect(loadConfig({}).telemetry.sampler).toEqual({ name: 'parentbased_always_on', ratio: 1 });
    expect(
      loadConfig({ OTEL_TRACES_SAMPLER: ' ParentBased_TraceIdRatio ', OTEL_TRACES_SAMPLER_ARG: '0.25' }).telemetry
        .sampler,
    ).toEqual({ name: 'parentbased_traceidratio', ratio: 0.25 });
  });

  it('refuse an unknown sampler or a ratio outside 0..1, naming the setting', () => {
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(/OTEL_TRACES_SAMPLER\b/);
    for (const bad of ['1.5', '-0.1', 'half', '50%'])
      expect(() => loadConfig({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: bad })).toThrow(
        /OTEL_TRACES_SAMPLER_ARG/,
      );
  });
});

describe('sampling', () => {
  it('always_off exports nothing, yet carries the trace on with flags 00', async () => {
    const { exporter, telemetry } = telemetryWith({ name: 'always_off', ratio: 1 });
    const carrier = await oneTrace(telemetry);
    expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(exporter.getFinishedSpans()).toEqual([]);
    await telemetry.shutdown();
  });

  it('parentbased_traceidratio keeps whole traces, exactly those the SDK ratio sampler keeps', async () => {
    const { exporter, telemetry } = telemetryWith({ name: 'parentbased_traceidratio', ratio: 0.25 });
    const sdk = new TraceIdRatioBasedSampler(0.25);
    const traces = 800;
    const kept = new Set<string>();
    for (let i = 0; i < traces; i++) {
      const traceId = (await oneTrace(telemetry)).traceparent.split('-')[1]!;
      if (sdk.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED) kept.add(traceId);
    }
    const spans = exporter.getFinishedSpans();
    const exportedTraces = new Set(spans.map((span) => span.spanContext().traceId));
    expect(exportedTraces).toEqual(kept);
    expect(spans).toHaveLength(kept.size * 2); // root and child of each kept trace, nothing of the others
    expect(kept.size / traces).toBeGreaterThan(0.15);
    expect(kept.size / traces).toBeLessThan(0.35);
    await telemetry.shutdown();
  });

  it('parent-based samplers follow a remote parent; the plain ones decide by trace id alone', async () => {
    const followed = telemetryWith({ name: 'parentbased_always_off', ratio: 1 });
    await oneTrace(followed.telemetry, SAMPLED_PARENT);
    expect(followed.exporter.getFinishedSpans()).toHaveLength(2);
    const refused = telemetryWith({ name: 'parentbased_always_on', ratio: 1 });
    await oneTrace(refused.telemetry, UNSAMPLED_PARENT);
    expect(refused.exporter.getFinishedSpans()).toEqual([]);
    const own = telemetryWith({ name: 'always_on', ratio: 1 });
    const carrier = await oneTrace(own.telemetry, UNSAMPLED_PARENT);
    expect(carrier.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(own.exporter.getFinishedSpans()).toHaveLength(2);
    for (const t of [followed, refused, own]) await t.telemetry.shutdown();
  });
});
