/**
 * One worker process of row 8 (tracing): an app instance with telemetry off (the no-op port; none of the
 * OpenTelemetry code is loaded) or on (our OpenTelemetry adapter as in production — BatchSpanProcessor, metrics — with
 * an exporter that counts spans and drops them) for its whole life, as a deployed process is. Started by tracing.ts
 * bundled as the package is (bundled-child.ts), with an IPC channel.
 *
 * argv[2]: {@link TracingWorkerArgs} as JSON. Sends `{ type: 'ready' }`; for each `{ type: 'round', tag, count }`
 * runs `count` PUT changes through processChangeTraced, each in a trigger span, and answers `{ type: 'round', … }`;
 * exits on `{ type: 'stop' }`.
 */
import { executionAsyncId } from 'node:async_hooks';
import { cpuUsage } from 'node:process';
import { PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { noTelemetry, type Telemetry } from '../shared/app/telemetry-ports';
import { processChangeTraced } from '../shared/app/traced-change';
import type { ProcessDeps } from '../shared/app/process-change';
import { tracedChangePorts } from '../functions/traced-ports';
import { benchArmClient, benchEngineDeps, type EmulatorAddress } from './engine-deps';
import { runPool } from './stats';
import { benchPatchBody, benchTarget } from './workload';

/** What one worker is told to be. */
export interface TracingWorkerArgs {
  emulator: EmulatorAddress;
  telemetry: 'off' | 'on';
  concurrency: number;
  backends: number;
}

/** Parent → worker. */
export type TracingWorkerCommand = { type: 'round'; tag: string; count: number } | { type: 'stop' };

/** Worker → parent. */
export type TracingWorkerMessage =
  | { type: 'ready' }
  | {
      type: 'round';
      perSecond: number;
      /** CPU time of this process per change (µs). */
      cpuUs: number;
      /** Garbage-collection pauses of the main thread per change (µs). */
      gcUs: number;
      /** Spans exported so far (flushed after the round). */
      spans: number;
      /** Whether promises paid for context tracking during the round (Node's async hooks). */
      hooks: boolean;
    };

/**
 * An exporter that lets go of each batch once counted, as a network exporter does once it has sent it. Holding every
 * span (the SDK's InMemorySpanExporter) keeps 10⁴ spans alive per round: they reach the old generation and the bench
 * would measure the garbage collector's work on them, a cost no deployed exporter has.
 */
class CountingSpanExporter implements SpanExporter {
  count = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.count += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

async function telemetryFor(
  mode: 'off' | 'on',
  spans: CountingSpanExporter,
): Promise<{ telemetry: Telemetry; stop: () => Promise<void> }> {
  if (mode === 'off') return { telemetry: noTelemetry, stop: () => Promise.resolve() };
  // Evaluated only in the "on" worker (the bundle evaluates a dynamically imported module when it is first imported),
  // as the app loads it only when an exporter is configured.
  const { createOtelTelemetry } = await import('../shared/adapters/telemetry/otel-telemetry');
  const { AggregationTemporality, InMemoryMetricExporter } = await import('@opentelemetry/sdk-metrics');
  const telemetry = createOtelTelemetry({
    spanExporter: spans,
    exportEachSpan: false, // a BatchSpanProcessor, as every network exporter gets (otel-sdk.ts)
    metricExporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    metricIntervalMs: 3_600_000,
  });
  return { telemetry, stop: () => telemetry.shutdown() };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as TracingWorkerArgs;
  const spans = new CountingSpanExporter();
  const { telemetry, stop } = await telemetryFor(args.telemetry, spans);
  const publisher = { publish: () => Promise.resolve(), publishChangeSet: () => Promise.resolve() };
  const arm = benchArmClient(args.emulator);
  const deps: ProcessDeps = { ...benchEngineDeps(arm, false), ledger: undefined, publisher, leaseMs: 180_000 };
  // As the composition root wires them: each change's ports trace as children of its span.
  if (telemetry.enabled) {
    const untraced = { arm, ledger: undefined, publisher };
    deps.traced = (t) => tracedChangePorts(untraced, t);
  }
  const send = (message: TracingWorkerMessage): void => void process.send?.(message);

  // The main thread's collection pauses, summed per round: tracing's cost shows largely here (row 8 in README).
  let gcMs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  }).observe({ entryTypes: ['gc'] });

  const round = async (tag: string, count: number): Promise<TracingWorkerMessage> => {
    // Bodies without credentials: with them the ledger fingerprint would be what is measured.
    const inputs = Array.from({ length: count }, (_, i) => ({
      requestId: `${tag}-${i}`,
      operation: 'createOrUpdate',
      target: benchTarget(i % args.backends),
      body: { properties: { protocol: 'http', ...benchPatchBody(i % args.backends, tag).properties } },
    }));
    let hooked = false;
    await nextTurn(); // the previous round's collections reported before the count restarts
    gcMs = 0;
    const cpuBefore = cpuUsage();
    const started = performance.now();
    await runPool(count, args.concurrency, async (i) => {
      const delivery = { fallbackRequestId: `${tag}-${i}`, onTransient: 'answer' as const };
      const result = await telemetry.inSpan('processBackendChange', { kind: 'consumer' }, (span) =>
        processChangeTraced(span.telemetry, inputs[i], delivery, deps),
      );
      if (i === 0) hooked = executionAsyncId() !== 0;
      if (result.kind !== 'outcome' || result.outcome.status !== 'succeeded') throw new Error(`change ${result.kind}`);
    });
    const perSecond = (count / (performance.now() - started)) * 1000;
    const cpu = cpuUsage(cpuBefore);
    await nextTurn(); // collections of the round are reported to the observer in a later turn
    const gcUs = (gcMs * 1000) / count;
    await telemetry.flush(); // the spans still buffered are exported (counted, not timed)
    const cpuUs = (cpu.user + cpu.system) / count;
    return { type: 'round', perSecond, cpuUs, gcUs, spans: spans.count, hooks: hooked };
  };

  process.on('message', (command: TracingWorkerCommand) => {
    if (command.type === 'stop') {
      void stop().finally(() => process.exit(0));
      return;
    }
    round(command.tag, command.count).then(send, (error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  });
  send({ type: 'ready' });
}

void main();
