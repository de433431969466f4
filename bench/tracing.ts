/**
 * Row 8, the cost of tracing: the same PUT changes through processChange (engine, real ARM client, against the
 * emulator), each in a trigger span, in two worker processes (tracing-worker.ts): one with telemetry off (the no-op
 * port; no OpenTelemetry code loaded), one with it on (our OpenTelemetry adapter as in production, with an exporter
 * that counts and drops spans), each for its whole life as a deployed process is. Rounds alternate between them.
 *
 * Two processes rather than one switching telemetry on and off: a process keeps what tracing did to it (the code V8
 * compiled and how it sized its heap for spans), which its untraced rounds would be charged for; deployed processes
 * run with telemetry on or off for their whole life.
 */
import { join } from 'node:path';
import type { ChildEmulator } from './child-emulator';
import type { ChildProcess } from 'node:child_process';
import { bundleEntry, type BundledEntry } from './bundled-child';
import { nextMessage } from './child-emulator';
import type { TableRow } from './report';
import { median, round } from './stats';
import type { TracingWorkerArgs, TracingWorkerCommand, TracingWorkerMessage } from './tracing-worker';

const WORKER_TIMEOUT_MS = 120_000;
/** Warm-up rounds per worker before the measured ones, of this many changes at most (see measurePair). */
const WARM_UP_ROUNDS = 4;
const WARM_UP_CHANGES = 2_000;

export interface TracingOptions {
  requests: number;
  concurrency: number;
  /** Paired rounds per pair of worker processes. */
  rounds: number;
  backends: number;
  /** Pairs of worker processes (off, on), one after another; their rounds are pooled. Default 1. */
  pairs?: number;
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
  /** Median garbage-collection pause of the main thread per change (µs). */
  gcUsOff: number;
  gcUsOn: number;
  spansPerChange: number;
  /** "Off" rounds that ran with context tracking on (charged for the "on" rounds' hooks): 0 when honest. */
  offRoundsWithHooks: number;
}

type Worker = ChildProcess;

/** Sends `command` to `worker` and resolves with its next message of `type`. */
function ask<T extends TracingWorkerMessage['type']>(worker: Worker, type: T, command?: TracingWorkerCommand) {
  return nextMessage<TracingWorkerMessage, T>(worker, 'tracing', type, WORKER_TIMEOUT_MS, command);
}

/** What the measured rounds of the worker pairs gave, pooled. */
interface Rounds {
  series: { off: number[]; on: number[] };
  cpu: { off: number[]; on: number[] };
  gc: { off: number[]; on: number[] };
  offRoundsWithHooks: number;
  spans: number;
}

export async function measureTracing(emulator: ChildEmulator, options: TracingOptions): Promise<TracingResult> {
  // Bundled as the package is (bundled-child.ts): the traced path crosses more modules, each call of which tsx taxes.
  const entry = await bundleEntry(join(__dirname, 'tracing-worker.ts'));
  const pooled: Rounds = {
    series: { off: [], on: [] },
    cpu: { off: [], on: [] },
    gc: { off: [], on: [] },
    offRoundsWithHooks: 0,
    spans: 0,
  };
  try {
    // Fresh pairs of processes: how V8 compiled and laid out one process shifts its speed for its whole life (by
    // ±10 % here), which pairing rounds within a process cannot cancel; pooling pairs spreads that luck.
    for (let pair = 0; pair < (options.pairs ?? 1); pair++) await measurePair(entry, emulator, options, pair, pooled);
  } finally {
    entry.dispose();
  }
  const { series, cpu, gc } = pooled;
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
    gcUsOff: round(median(gc.off), 1),
    gcUsOn: round(median(gc.on), 1),
    spansPerChange: round(pooled.spans / (options.requests * series.on.length), 1),
    offRoundsWithHooks: pooled.offRoundsWithHooks,
  };
}

/** One pair of worker processes (off, on): warmed up, then `options.rounds` paired rounds added to `pooled`. */
async function measurePair(
  entry: BundledEntry,
  emulator: ChildEmulator,
  options: TracingOptions,
  pair: number,
  pooled: Rounds,
): Promise<void> {
  const address = { url: emulator.url, caCertPem: emulator.caCertPem, token: emulator.token };
  const start = (telemetry: 'off' | 'on'): Worker => {
    const args: TracingWorkerArgs = {
      emulator: address,
      telemetry,
      concurrency: options.concurrency,
      backends: options.backends,
    };
    return entry.spawn([JSON.stringify(args)]);
  };
  const workers = { off: start('off'), on: start('on') };
  try {
    await Promise.all([ask(workers.off, 'ready'), ask(workers.on, 'ready')]);
    const run = (name: 'off' | 'on', tag: string, count: number) =>
      ask(workers[name], 'round', { type: 'round', tag, count });
    // Warm-up long enough for the first measured round to look like the others (JIT, TLS sessions, the emulator's
    // store filled): after 2 rounds of 600, the first measured round still ran at 2,600-2,800 changes/s in both
    // workers against 6,000-8,000 in the later ones, which pulled the paired loss toward 0. After 4 of 2,000 the
    // last warm-up round runs as fast as the measured ones.
    let spansAtStart = 0;
    for (let w = 0; w < WARM_UP_ROUNDS; w++) {
      for (const name of ['off', 'on'] as const) {
        const warm = await run(name, `p${pair}-warm${w}-${name}`, Math.min(options.requests, WARM_UP_CHANGES));
        if (name === 'on') spansAtStart = warm.spans;
      }
    }
    let spansAtEnd = spansAtStart;
    for (let r = 0; r < options.rounds; r++) {
      for (const name of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const measured = await run(name, `p${pair}-t${r}-${name}`, options.requests);
        pooled.series[name].push(round(measured.perSecond, 1));
        pooled.cpu[name].push(round(measured.cpuUs, 1));
        pooled.gc[name].push(round(measured.gcUs, 1));
        if (name === 'off' && measured.hooks) pooled.offRoundsWithHooks++;
        if (name === 'on') spansAtEnd = measured.spans;
      }
    }
    pooled.spans += spansAtEnd - spansAtStart;
  } finally {
    for (const worker of Object.values(workers)) {
      if (worker.exitCode === null) {
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.send({ type: 'stop' } satisfies TracingWorkerCommand);
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
        if (worker.exitCode === null) worker.kill();
      }
    }
  }
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
    { row, measure: 'GC pauses per change, off', value: result.gcUsOff, unit: 'µs', goal: '—', met: null },
    { row, measure: 'GC pauses per change, tracing on', value: result.gcUsOn, unit: 'µs', goal: '—', met: null },
    {
      row,
      measure: '"off" rounds run with async hooks',
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
