/**
 * Our span recorder: ids as W3C Trace Context requires them, remote parents read as the W3C propagator reads them,
 * ended spans handed to the span processor once, unsampled ones never.
 */
import { ROOT_CONTEXT, TraceFlags, defaultTextMapGetter, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { RecordedSpan, remoteParent, type SpanSink } from '../../shared/adapters/telemetry/recorded-span';
import { parentBasedAlwaysOn } from '../../shared/adapters/telemetry/trace-sampler';
import { noTelemetry } from '../../shared/app/telemetry-ports';

function sink(): SpanSink & { ended: ReadableSpan[] } {
  const ended: ReadableSpan[] = [];
  return {
    ended,
    processor: { onEnd: (span) => void ended.push(span) },
    resource: resourceFromAttributes({ 'service.name': 'test' }),
    scope: { name: 'test' },
    sample: parentBasedAlwaysOn,
    bind: () => noTelemetry,
  };
}

describe('ids', () => {
  it('are random lowercase hex of 16 and 8 bytes, never all zeros, unique over many spans (the pool refills)', () => {
    const to = sink();
    const traceIds = new Set<string>();
    const spanIds = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const { traceId, spanId } = new RecordedSpan(to, 'x', 0, undefined, undefined).spanContext();
      expect(traceId).toMatch(/^(?!0+$)[0-9a-f]{32}$/);
      expect(spanId).toMatch(/^(?!0+$)[0-9a-f]{16}$/);
      traceIds.add(traceId);
      spanIds.add(spanId);
    }
    expect(traceIds.size).toBe(3000);
    expect(spanIds.size).toBe(3000);
  });
});

describe('remote parents', () => {
  const propagator = new W3CTraceContextPropagator();
  const extracted = (traceparent: string, tracestate?: string) =>
    trace.getSpanContext(
      propagator.extract(
        ROOT_CONTEXT,
        tracestate === undefined ? { traceparent } : { traceparent, tracestate },
        defaultTextMapGetter,
      ),
    );

  it.each([
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00', undefined],
    ['01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03', undefined],
  ])('%s reads as the W3C propagator reads it', (traceparent, tracestate) => {
    const ours = remoteParent(tracestate === undefined ? { traceparent } : { traceparent, tracestate });
    const theirs = extracted(traceparent, tracestate)!;
    expect({ ...ours, traceState: ours?.traceState?.serialize() }).toEqual({
      ...theirs,
      traceState: theirs.traceState?.serialize(),
    });
  });

  it.each([
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
    'garbage',
  ])('%s is refused, as the propagator refuses it', (traceparent) => {
    expect(remoteParent({ traceparent })).toBeUndefined();
    expect(extracted(traceparent)).toBeUndefined();
  });
});

describe('ending', () => {
  it('hands a sampled span to the processor once, an unsampled one never; its children inherit the decision', () => {
    const to = sink();
    const sampled = new RecordedSpan(to, 'a', 0, undefined, undefined);
    sampled.end();
    sampled.end();
    const parent = remoteParent({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' })!;
    const unsampled = new RecordedSpan(to, 'b', 0, parent, undefined);
    const child = new RecordedSpan(to, 'c', 0, unsampled.spanContext(), undefined);
    unsampled.end();
    child.end();
    expect(to.ended).toEqual([sampled]);
    expect(child.spanContext().traceFlags).toBe(TraceFlags.NONE);
    expect(child.carrier().traceparent).toMatch(/-00$/);
  });

  it('adds attributes without undefined values, never erasing one set before, and none once ended', () => {
    const span = new RecordedSpan(sink(), 'a', 0, undefined, { a: 1, skipped: undefined });
    span.set({ b: 'x' });
    span.set({ a: undefined, c: true });
    span.end();
    span.set({ d: 2 });
    // Own keys, in order: toEqual would take a key holding undefined for a missing one.
    expect(Object.entries(span.attributes)).toEqual([
      ['a', 1],
      ['b', 'x'],
      ['c', true],
    ]);
  });

  it('records a failure by its type only, as an error status, an exception event and error.type', () => {
    const to = sink();
    const span = new RecordedSpan(to, 'a', 0, undefined, { keep: 'yes', drop: undefined });
    span.fail(new TypeError('token=s3cr3t'));
    span.end();
    span.fail(new RangeError('after the end'));
    expect(span.status).toEqual({ code: 2, message: 'TypeError' });
    expect(span.attributes).toEqual({ keep: 'yes', 'error.type': 'TypeError' });
    expect(span.events).toEqual([
      {
        name: 'exception',
        attributes: { 'exception.type': 'TypeError' },
        time: expect.any(Array),
        droppedAttributesCount: 0,
      },
    ]);
    expect(JSON.stringify([span.attributes, span.events, span.status, span.name])).not.toContain('s3cr3t');
  });
});
