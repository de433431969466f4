/**
 * Which spans are recorded and exported: OpenTelemetry's standard samplers, chosen by OTEL_TRACES_SAMPLER (and
 * OTEL_TRACES_SAMPLER_ARG for the ratio), as the SDK's tracer provider reads them. Our span class
 * (`recorded-span.ts`) does not go through the SDK's tracer, so the choice is made here, once per span: the ratio
 * decision is the SDK's own TraceIdRatioBasedSampler (the same trace ids are kept as by any other OpenTelemetry
 * process sampling at that ratio), the parent-based rule the SDK's ParentBasedSampler's defaults (a child follows its
 * parent's sampled flag). An unsampled span still carries the trace on (traceparent with flags 00); it is not exported.
 */
import { ROOT_CONTEXT, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { TraceSamplerSettings } from '../../config/settings';

/** Whether a new span of `traceId` under `parent` (undefined: a root span) is sampled. */
export type SampleDecision = (traceId: string, parent: SpanContext | undefined) => boolean;

/** The default: every root span sampled, every child as its parent. */
export const parentBasedAlwaysOn: SampleDecision = (_traceId, parent) =>
  parent === undefined || (parent.traceFlags & TraceFlags.SAMPLED) !== 0;

export function sampleDecision(settings: TraceSamplerSettings | undefined): SampleDecision {
  if (settings === undefined || settings.name === 'parentbased_always_on') return parentBasedAlwaysOn;
  const parentBased = settings.name.startsWith('parentbased_');
  const own = settings.name.replace(/^parentbased_/, '');
  const ratio = new TraceIdRatioBasedSampler(settings.ratio);
  const root: (traceId: string) => boolean =
    own === 'always_on'
      ? () => true
      : own === 'always_off'
        ? () => false
        : (traceId) => ratio.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
  return parentBased
    ? (traceId, parent) => (parent === undefined ? root(traceId) : (parent.traceFlags & TraceFlags.SAMPLED) !== 0)
    : (traceId) => root(traceId);
}
