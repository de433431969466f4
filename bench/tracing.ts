/**
 * Rows 8 and 8b, the cost of tracing: the same PUT changes, as deployed (row 8: the queue function with its ledger on
 * Azurite and its event to the broker) or through the engine alone (8b: processChange, real ARM client, no ledger),
 * against the emulator, in two worker processes (tracing-worker.ts): one with telemetry off (the no-op port; no
 * OpenTelemetry code loaded), one with it on (our OpenTelemetry adapter as in production, with an exporter that
 * counts and drops spans), each for its whole life as a deployed process is. Rounds alternate between them.
 *
 * Two processes rather than one switching telemetry on and off: a process keeps what tracing did to it (the code V8
 * compiled and how it sized its heap for spans), which its untraced rounds would be charged for; deployed processes
 * run with telemetry on or off for their whole life.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildEmulator } from './child-emulator';
import type { ChildProcess } from 'node:child_process';
import { bundleEntry, type BundledEntry } from './bundled-child';
import { nextMessage } from './child-emulator';
import type { TableRow } from './report';
import { atMost, info } from './table-rows';
import { median, round } from './stats';
import type { TracingPath, TracingWorkerArgs, TracingWorkerCommand, TracingWorkerMessage } from './tracing-worker';
import { startEmulatorStack, type EmulatorStack } from '../local/emulator-stack';

const WORKER_TIMEOUT_MS = 120_000;
/** The queue path's results topic on the embedded broker (no subscription: events are accepted and dropped). */
const RESULTS_TOPIC = 'bench-results';
/** Warm-up rounds per worker before the measured ones, of this many changes at most (see measurePair). */
const WARM_UP_ROUNDS = 4;
const WARM_UP_CHANGES = 2_000;

export interface TracingOptions {
  /** What each change runs through (tracing-worker.ts): as deployed (`queue`), or the engine alone. */
  path: TracingPath;
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

/** Each of `runs` (a path and its sizes) measured in turn, with one bundle of the worker. */
export async function measureTracing<const R extends readonly TracingOptions[]>(
  emulator: ChildEmulator,
  runs: R,
): Promise<{ [K in keyof R]: TracingResult }> {
  // Bundled as the package is (bundled-child.ts): the traced path crosses more modules, each call of which tsx taxes.
  const entry = await bundleEntry(join(__dirname, 'tracing-worker.ts'));
  try {
    const results: TracingResult[] = [];
    for (const options of runs) results.push(await measurePath(entry, emulator, options));
    return results as { [K in keyof R]: TracingResult };
  } finally {
    entry.dispose();
  }
}

/** One path: its pairs of workers (with Azurite and the broker for the queue path), pooled. */
async function measurePath(
  entry: BundledEntry,
  emulator: ChildEmulator,
  options: TracingOptions,
): Promise<TracingResult> {
  const stack = options.path === 'queue' ? await queuePathStack(emulator) : undefined;
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
    for (let pair = 0; pair < (options.pairs ?? 1); pair++)
      await measurePair(entry, emulator, stack?.settings, options, pair, pooled);
  } finally {
    await stack?.stop();
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

/**
 * What the queue path's workers connect to, besides the emulator: Azurite for the ledger and the embedded broker for
 * the results topic, with the app settings that name them (the write limiter off, as in row 1: the emulator does not
 * throttle here).
 */
async function queuePathStack(
  emulator: ChildEmulator,
): Promise<{ settings: Record<string, string>; stop(): Promise<void> }> {
  const stack: EmulatorStack = await startEmulatorStack({
    azurite: {},
    broker: { topics: [{ name: RESULTS_TOPIC, subscriptions: [] }] },
  });
  const caDir = mkdtempSync(join(tmpdir(), 'bench-tracing-ca-'));
  const caFile = join(caDir, 'arm-ca.pem');
  writeFileSync(caFile, emulator.caCertPem);
  return {
    settings: {
      ...stack.settings,
      ARM_ENDPOINT: emulator.url,
      ARM_ACCESS_TOKEN: emulator.token,
      ARM_CA_CERT_FILE: caFile,
      ARM_WRITE_LIMITER: 'false',
      RESULTS_TOPIC,
      LEDGER_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
    },
    stop: async () => {
      await stack.stop();
      rmSync(caDir, { recursive: true, force: true });
    },
  };
}
/** One pair of worker processes (off, on): warmed up, then `options.rounds` paired rounds added to `pooled`. */
async function measurePair(
  entry: BundledEntry,
  emulator: ChildEmulator,
  settings: Record<string, string> | undefined,
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
      path: options.path,
      ...(settings === undefined ? {} : { settings }),
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

/**
 * The table rows of row 8 (a change as deployed: the goal) or 8b (the engine alone: tracing's share where the rest of
 * a change's work is smallest, printed without a goal).
 */
export function tracingRows(result: TracingResult): TableRow[] {
  const { path, requests, concurrency } = result.options;
  const row =
    path === 'queue'
      ? `8 tracing (${requests} queued changes, c=${concurrency})`
      : `8b tracing, engine alone (${requests} PUTs, c=${concurrency})`;
  const lost = round(result.loss * 100, 1);
  return [
    info(row, 'telemetry off (no-op port)', result.medianOff, 'changes/s'),
    info(row, 'tracing on (in-memory exporter)', result.medianOn, 'changes/s'),
    info(row, 'spans per change', result.spansPerChange, ''),
    info(row, 'CPU per change, off', result.cpuUsOff, 'µs'),
    info(row, 'CPU per change, tracing on', result.cpuUsOn, 'µs'),
    info(row, 'GC pauses per change, off', result.gcUsOff, 'µs'),
    info(row, 'GC pauses per change, tracing on', result.gcUsOn, 'µs'),
    atMost(row, '"off" rounds run with async hooks', result.offRoundsWithHooks, '', 0),
    info(row, 'throughput lost, from the medians (unpaired)', round(result.lossOfMedians * 100, 1), '%'),
    path === 'queue'
      ? atMost(row, 'throughput lost to tracing (median of paired rounds)', lost, '%', 10)
      : info(row, 'throughput lost to tracing (median of paired rounds)', lost, '%'),
  ];
}
