/**
 * One worker process of rows 8 and 8b (tracing): an app instance with telemetry off (the no-op port; none of the
 * OpenTelemetry code is loaded) or on (our OpenTelemetry adapter as in production — BatchSpanProcessor, metrics — with
 * an exporter that counts spans and drops them) for its whole life, as a deployed process is. Started by tracing.ts
 * bundled as the package is (bundled-child.ts), with an IPC channel.
 *
 * Two paths (argv's `path`): `queue`, a change as deployed — the processBackendChange function of the registration
 * list (its trigger span, the change service: ledger on Azurite, ARM, the result event to the broker's topic);
 * `engine`, processChangeTraced alone in a trigger span (no ledger, events dropped): tracing's share where the rest
 * of the work is smallest.
 *
 * argv[2]: {@link TracingWorkerArgs} as JSON. Sends `{ type: 'ready' }`; for each `{ type: 'round', tag, count }`
 * runs `count` PUT changes and answers `{ type: 'round', … }`; exits on `{ type: 'stop' }`.
 */
import { executionAsyncId } from 'node:async_hooks';
import { cpuUsage } from 'node:process';
import { PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { noTelemetry, type Telemetry } from '../shared/app/telemetry-ports';
import { InvocationContext } from '@azure/functions';
import { processChangeTraced } from '../shared/app/traced-change';
import { loadConfig } from '../shared/config/settings';
import { loadTriggerSettings } from '../shared/config/trigger-settings';
import { createServices } from '../functions/composition-root';
import { functionRegistrations } from '../functions/registrations';
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
  path: TracingPath;
  /** The queue path's app settings (ARM, Azurite, the broker; see tracing.ts). */
  settings?: Record<string, string>;
}

/** What one change runs through (see the file's header). */
export type TracingPath = 'queue' | 'engine';

/** A path's changes: each run (rejecting when the path knows at once that it did not succeed), checked, stopped. */
interface ChangePath {
  run(change: ChangeBody): Promise<void>;
  /** Rejects unless the change with this requestId succeeded and its event was published (after a round). */
  check?(requestId: string): Promise<void>;
  stop(): Promise<void>;
}
interface ChangeBody {
  requestId: string;
  operation: string;
  target: unknown;
  body: unknown;
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

/** The engine path: processChangeTraced in a trigger span, no ledger, events dropped. */
function enginePath(args: TracingWorkerArgs, telemetry: Telemetry): ChangePath {
  const publisher = { publish: () => Promise.resolve(), publishChangeSet: () => Promise.resolve() };
  const arm = benchArmClient(args.emulator);
  const deps: ProcessDeps = { ...benchEngineDeps(arm, false), ledger: undefined, publisher, leaseMs: 180_000 };
  // As the composition root wires them: each change's ports trace as children of its span.
  if (telemetry.enabled) {
    const untraced = { arm, ledger: undefined, publisher };
    deps.traced = (t) => tracedChangePorts(untraced, t);
  }
  const run = async (input: ChangeBody): Promise<void> => {
    const delivery = { fallbackRequestId: input.requestId, onTransient: 'answer' as const };
    const result = await telemetry.inSpan('processBackendChange', { kind: 'consumer' }, (span) =>
      processChangeTraced(span.telemetry, input, delivery, deps),
    );
    if (result.kind !== 'outcome' || result.outcome.status !== 'succeeded') throw new Error(`change ${result.kind}`);
  };
  return { run, stop: () => Promise.resolve() };
}

/**
 * The queue path: the registration list's processBackendChange function (wrapped in its trigger span as the host
 * runs it), on services built from app settings as the composition root builds them. Each message is delivered as
 * the host delivers a first delivery. A change that did not succeed is found in the ledger after the round.
 */
function queuePath(settings: Record<string, string>, telemetry: Telemetry): ChangePath {
  const services = createServices(loadConfig(settings), telemetry);
  const fn = functionRegistrations(() => services, loadTriggerSettings(settings)).find(
    (registration) => registration.name === 'processBackendChange',
  );
  if (fn?.kind !== 'serviceBusQueue') throw new Error('processBackendChange is not a queue function');
  const quiet = (): void => undefined;
  const run = async (input: ChangeBody): Promise<void> => {
    const triggerMetadata = { messageId: input.requestId, deliveryCount: 1, applicationProperties: {} };
    await fn.handler(input, new InvocationContext({ functionName: fn.name, triggerMetadata, logHandler: quiet }));
  };
  const check = async (requestId: string): Promise<void> => {
    const record = await services.ledger?.get(requestId);
    const status = record?.outcome?.status ?? record?.state ?? 'not in the ledger';
    if (status !== 'succeeded' || record?.published !== true) throw new Error(`change ${requestId}: ${status}`);
  };
  return { run, check, stop: () => services.close() };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as TracingWorkerArgs;
  const spans = new CountingSpanExporter();
  const { telemetry, stop: stopTelemetry } = await telemetryFor(args.telemetry, spans);
  const path = args.path === 'queue' ? queuePath(args.settings ?? {}, telemetry) : enginePath(args, telemetry);
  const stop = () => path.stop().finally(stopTelemetry);
  const send = (message: TracingWorkerMessage): void => void process.send?.(message);

  // The main thread's collection pauses, summed per round (bench/README.md, rows 8 and 8b).
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
      await path.run(inputs[i]!);
      if (i === 0) hooked = executionAsyncId() !== 0;
    });
    const perSecond = (count / (performance.now() - started)) * 1000;
    const cpu = cpuUsage(cpuBefore);
    await nextTurn(); // collections of the round are reported to the observer in a later turn
    const gcUs = (gcMs * 1000) / count;
    await telemetry.flush(); // the spans still buffered are exported (counted, not timed)
    await path.check?.(inputs[0]!.requestId);
    await path.check?.(inputs[count - 1]!.requestId);
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
