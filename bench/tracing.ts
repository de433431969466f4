/**
 * Row 8, the cost of tracing: the same PUT changes through processChange (engine, real ARM client, against the
 * emulator), each in a trigger span, with telemetry off (the no-op port) and on (our OpenTelemetry adapter as in
 * production — BatchSpanProcessor, metrics — with an in-memory exporter: the SDK's work without a network
 * exporter's), rounds interleaved in the same run.
 *
 * "Off" is what a process with telemetry off pays: the adapter's span context installs promise hooks for the whole
 * process (a cost on every promise), so each "on" round gets a telemetry of its own, shut down after the round
 * (which removes them), and each "off" round checks that neither those nor Node's async hooks are running.
 */
import { executionAsyncId } from 'node:async_hooks';
import { cpuUsage } from 'node:process';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import { createOtelTelemetry } from '../shared/adapters/telemetry/otel-telemetry';
import { spanContextActive } from '../shared/adapters/telemetry/span-context';
import { noTelemetry, type Telemetry } from '../shared/app/telemetry-ports';
import { processChangeTraced } from '../shared/app/traced-change';
import { tracedPublisher } from '../functions/traced-ports';
import type { ProcessDeps } from '../shared/app/process-change';
import { armObserver } from '../functions/telemetry';
import type { ChildEmulator } from './child-emulator';
import { benchArmClient, benchEngineDeps } from './engine-deps';
import type { TableRow } from './report';
import { median, round, runPool } from './stats';
import { benchPatchBody, benchTarget } from './workload';

export interface TracingOptions {
  requests: number;
  concurrency: number;
  rounds: number;
  backends: number;
}

export interface TracingResult {
  options: TracingOptions;
  offPerSecond: number[];
  onPerSecond: number[];
  medianOff: number;
  medianOn: number;
  /**
   * The share of throughput tracing costs: the median over rounds of 1 − on/off, each round's "on" and "off" run
   * back to back (a paired comparison: a drift of the machine's speed between rounds, up to 1.5× here, cancels out).
   */
  loss: number;
  /** 1 − on/off per round. */
  lossPerRound: number[];
  /** 1 − median(on)/median(off): the same loss from unpaired medians, for comparison. */
  lossOfMedians: number;
  /** Median CPU time of this process per change (µs): steadier than throughput on a shared machine. */
  cpuUsOff: number;
  cpuUsOn: number;
  spansPerChange: number;
  /** "Off" rounds that ran with context tracking on (charged for the "on" rounds' hooks): 0 when honest. */
  offRoundsWithHooks: number;
}

/** Whether promises pay for context tracking now: our span context's hooks, or Node's async hooks (any AsyncLocalStorage). */
async function hooksOn(): Promise<boolean> {
  await Promise.resolve();
  return spanContextActive() || executionAsyncId() !== 0;
}

/**
 * An in-memory exporter that lets go of each batch once counted, as a network exporter does once it has sent it.
 * Holding every span (the SDK's InMemorySpanExporter) keeps 10⁴ spans alive per round: they reach the old generation
 * and the bench measures the garbage collector's work on them, a cost no deployed exporter has.
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

export async function measureTracing(emulator: ChildEmulator, options: TracingOptions): Promise<TracingResult> {
  const spans = new CountingSpanExporter();
  const publisher = { publish: () => Promise.resolve(), publishChangeSet: () => Promise.resolve() };
  const depsFor = (telemetry: Telemetry): ProcessDeps => {
    const arm = benchArmClient(emulator, telemetry.enabled ? { observer: armObserver(telemetry) } : {});
    return {
      ...benchEngineDeps(arm, false),
      ledger: undefined,
      publisher: telemetry.enabled ? tracedPublisher(publisher, telemetry) : publisher,
      leaseMs: 180_000,
    };
  };
  // A fresh configuration per round (ARM client included, for both): an "on" round's telemetry is shut down after it.
  const configure = (name: 'off' | 'on'): { telemetry: Telemetry; deps: ProcessDeps; stop: () => Promise<void> } => {
    if (name === 'off') return { telemetry: noTelemetry, deps: depsFor(noTelemetry), stop: () => Promise.resolve() };
    const on = createOtelTelemetry({
      spanExporter: spans,
      exportEachSpan: false, // a BatchSpanProcessor, as every network exporter gets (otel-sdk.ts)
      metricExporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      metricIntervalMs: 3_600_000,
    });
    return { telemetry: on, deps: depsFor(on), stop: () => on.shutdown() };
  };
  let offRoundsWithHooks = 0;

  const runOnce = async (
    name: 'off' | 'on',
    tag: string,
    count = options.requests,
  ): Promise<{ perSecond: number; cpuUs: number }> => {
    const { telemetry, deps, stop } = configure(name);
    if (name === 'off' && (await hooksOn())) offRoundsWithHooks++;
    // Bodies without credentials: with them the ledger fingerprint's scrypt (by design slow) would be what is measured.
    const inputs = Array.from({ length: count }, (_, i) => ({
      requestId: `${tag}-${i}`,
      operation: 'createOrUpdate',
      target: benchTarget(i % options.backends),
      body: { properties: { protocol: 'http', ...benchPatchBody(i % options.backends, tag).properties } },
    }));
    const cpuBefore = cpuUsage();
    const started = performance.now();
    await runPool(count, options.concurrency, async (i) => {
      const delivery = { fallbackRequestId: `${tag}-${i}`, onTransient: 'answer' as const };
      const result = await telemetry.inSpan('processBackendChange', { kind: 'consumer' }, () =>
        processChangeTraced(telemetry, inputs[i], delivery, deps),
      );
      if (result.kind !== 'outcome' || result.outcome.status !== 'succeeded') throw new Error(`change ${result.kind}`);
    });
    const perSecond = (count / (performance.now() - started)) * 1000;
    const cpu = cpuUsage(cpuBefore);
    await stop(); // flushes the spans still buffered (their export is counted, not timed)
    return { perSecond, cpuUs: (cpu.user + cpu.system) / count };
  };

  const series = { off: [] as number[], on: [] as number[] };
  const cpu = { off: [] as number[], on: [] as number[] };
  // Warm-up long enough for the first measured round to look like the others (with 300 changes of each, the first
  // round ran at half the speed of the rest, both configurations).
  for (let w = 0; w < 2; w++) {
    for (const name of ['off', 'on'] as const) await runOnce(name, `warm${w}-${name}`, Math.min(options.requests, 600));
  }
  offRoundsWithHooks = 0; // counted over the measured rounds only
  const warmSpans = spans.count;
  for (let r = 0; r < options.rounds; r++) {
    for (const name of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      const measured = await runOnce(name, `t${r}-${name}`);
      series[name].push(round(measured.perSecond, 1));
      cpu[name].push(round(measured.cpuUs, 1));
    }
  }
  const spansPerChange = round((spans.count - warmSpans) / (options.requests * options.rounds), 1);
  const medianOff = round(median(series.off), 1);
  const medianOn = round(median(series.on), 1);
  const lossPerRound = series.on.map((on, r) => round(1 - on / series.off[r]!, 3));
  return {
    options,
    offPerSecond: series.off,
    onPerSecond: series.on,
    medianOff,
    medianOn,
    loss: round(median(lossPerRound), 3),
    lossPerRound,
    lossOfMedians: round(1 - medianOn / medianOff, 3),
    cpuUsOff: round(median(cpu.off), 1),
    cpuUsOn: round(median(cpu.on), 1),
    spansPerChange,
    offRoundsWithHooks,
  };
}

/** The table rows of row 8. */
export function tracingRows(result: TracingResult): TableRow[] {
  const row = `8 tracing (${result.options.requests} PUTs, c=${result.options.concurrency})`;
  return [
    { row, measure: 'telemetry off (no-op port)', value: result.medianOff, unit: 'req/s', goal: '—', met: null },
    {
      row,
      measure: 'tracing on (in-memory exporter)',
      value: result.medianOn,
      unit: 'req/s',
      goal: '—',
      met: null,
    },
    { row, measure: 'spans per change', value: result.spansPerChange, unit: '', goal: '—', met: null },
    { row, measure: 'CPU per change, off', value: result.cpuUsOff, unit: 'µs', goal: '—', met: null },
    { row, measure: 'CPU per change, tracing on', value: result.cpuUsOn, unit: 'µs', goal: '—', met: null },
    {
      row,
      measure: '"off" rounds run with promise or async hooks',
      value: result.offRoundsWithHooks,
      unit: '',
      goal: '0',
      met: result.offRoundsWithHooks === 0,
    },
    {
      row,
      measure: 'throughput lost, from the medians (unpaired)',
      value: round(result.lossOfMedians * 100, 1),
      unit: '%',
      goal: '—',
      met: null,
    },
    {
      row,
      measure: 'throughput lost to tracing (median of paired rounds)',
      value: round(result.loss * 100, 1),
      unit: '%',
      goal: '≤ 10',
      met: result.loss <= 0.1,
    },
  ];
}
