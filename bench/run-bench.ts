/**
 * `runBench`: every measure of the issue "Performance", side by side in one run, at full or smoke size.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { startChildEmulator, type ChildEmulator } from './child-emulator';
import { measureColdStart } from './cold-start';
import { measureCpu } from './cpu';
import { measureMemory } from './memory';
import {
  buildTable,
  coldStartRows,
  cpuRows,
  formatTable,
  machineInfo,
  throughputRows,
  type BenchReport,
  type RawResults,
} from './report';
import { round } from './stats';
import { measureScaleOut, type ScaleOutResult } from './scale-out';
import { measureThrottle } from './throttle';
import { measureThroughput } from './throughput';
import { measureTracing, tracingRows } from './tracing';
import { measureTriggerCpu } from './trigger-cpu';
import { measureWrites } from './writes';

/** How to run the benchmark. */
export interface BenchOptions {
  /** Tiny sizes, for the test suite: proves every row runs, measures nothing worth comparing. */
  smoke?: boolean;
  /** Where to write the JSON report; none when undefined. */
  out?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

const CONCURRENCY = 32;
/** Row 7 at full size: 4 instances × 8 concurrent writes share the bucket of row 6. */
const SCALE_OUT = { workers: 4, writes: 300, concurrencyPerWorker: 8, bucket: { capacity: 20, refillPerSecond: 10 } };

/** Rows 8 (a change as deployed) and 8b (the engine alone): changes per round of each, rounds and worker pairs. */
function tracingSizes(size: { queue: number; engine: number; rounds: number; pairs: number }) {
  const common = { concurrency: CONCURRENCY, rounds: size.rounds, pairs: size.pairs };
  return {
    queue: { ...common, path: 'queue' as const, requests: size.queue, backends: size.queue },
    engine: { ...common, path: 'engine' as const, requests: size.engine, backends: Math.min(size.engine, 1000) },
  };
}

/** The sizes of each row. */
function sizes(smoke: boolean) {
  return smoke
    ? {
        throughput: { requests: 200, concurrency: CONCURRENCY, rounds: 2, backends: 100 },
        cpu: { requests: 200, rounds: 2 },
        triggerCpu: { requests: 200, rounds: 2 },
        coldStartRuns: 1,
        memory: { checkpoints: [200, 400], concurrency: CONCURRENCY, backends: 100 },
        writes: { requests: 200, concurrency: CONCURRENCY },
        throttle: { writes: 40, concurrency: CONCURRENCY, bucket: { capacity: 10, refillPerSecond: 20 } },
        tracing: tracingSizes({ queue: 30, engine: 100, rounds: 1, pairs: 2 }),
        scaleOut: { workers: 2, writes: 40, concurrencyPerWorker: 8, bucket: { capacity: 10, refillPerSecond: 20 } },
      }
    : {
        throughput: { requests: 5000, concurrency: CONCURRENCY, rounds: 5, backends: 1000 },
        cpu: { requests: 5000, rounds: 5 },
        triggerCpu: { requests: 5000, rounds: 5, processes: 3 },
        coldStartRuns: 7,
        memory: { checkpoints: [5000, 20000], concurrency: CONCURRENCY, backends: 1000 },
        writes: { requests: 1000, concurrency: CONCURRENCY },
        throttle: { writes: 300, concurrency: CONCURRENCY, bucket: { capacity: 20, refillPerSecond: 10 } },
        tracing: tracingSizes({ queue: 500, engine: 2000, rounds: 6, pairs: 3 }),
        scaleOut: SCALE_OUT,
      };
}

async function withEmulator<T>(
  options: Parameters<typeof startChildEmulator>[0],
  run: (emulator: ChildEmulator) => Promise<T>,
): Promise<T> {
  const emulator = await startChildEmulator(options);
  try {
    return await run(emulator);
  } finally {
    await emulator.stop();
  }
}

/** Row 1 alone (`npm run bench -- --only throughput`): the engine against the bare loop, rounds interleaved. */
export async function runThroughputRow(options: BenchOptions = {}): Promise<string> {
  const size = sizes(options.smoke ?? false);
  const result = await withEmulator({ logRequests: false }, (emulator) => measureThroughput(emulator, size.throughput));
  options.log?.(
    `throughput: bare ${result.bare.perSecond.join(', ')}; engine ${result.engine.perSecond.join(', ')} req/s`,
  );
  options.log?.(
    `client CPU µs/request: bare ${result.bare.clientCpuUsPerRequest.join(', ')}; engine ${result.engine.clientCpuUsPerRequest.join(', ')}`,
  );
  return formatTable(throughputRows(result));
}

/** Rows 2 and 2b alone (`npm run bench -- --only cpu`): in-process CPU per request, no servers. */
export async function runCpuRows(options: BenchOptions = {}): Promise<string> {
  const size = sizes(options.smoke ?? false);
  const cpu = await measureCpu(size.cpu);
  const triggerCpu = await measureTriggerCpu(size.triggerCpu);
  options.log?.(
    `2b rounds: ${triggerCpu.totalUs.join(', ')} µs; per process ${(triggerCpu.perProcess ?? []).join(', ')} µs`,
  );
  return formatTable(cpuRows(cpu, triggerCpu));
}

/** Row 3 alone (`npm run bench -- --only cold-start`). */
export async function runColdStartRow(options: BenchOptions = {}): Promise<string> {
  const size = sizes(options.smoke ?? false);
  const coldStart = await measureColdStart(size.coldStartRuns);
  options.log?.(
    `cold start: ours ${coldStart.oursMs.join(', ')} ms; identity ${coldStart.oursIdentityMs.join(', ')} ms`,
  );
  return formatTable(coldStartRows(coldStart));
}

/** Rows 8 and 8b alone (`npm run bench -- --only tracing`): tracing on against off, on a shared machine. */
export async function runTracingRow(options: BenchOptions = {}): Promise<string> {
  const size = sizes(options.smoke ?? false);
  const results = await withEmulator({ logRequests: false }, (emulator) =>
    measureTracing(emulator, [size.tracing.queue, size.tracing.engine]),
  );
  for (const result of results) {
    options.log?.(
      `tracing (${result.options.path}): off ${result.offPerSecond.join(', ')} changes/s; ` +
        `on ${result.onPerSecond.join(', ')} changes/s; loss per round ${result.lossPerRound.join(', ')}`,
    );
  }
  return formatTable(results.flatMap(tracingRows));
}

/**
 * Runs every row and returns the report (also written as JSON to `options.out` when given). The quietest rows go
 * first (in-process CPU), the throttle row (which mostly waits) last. Throws when any row fails: a benchmark with a
 * failed request has no result to report.
 */
export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const smoke = options.smoke ?? false;
  const log = options.log ?? (() => undefined);
  const size = sizes(smoke);
  const startedAt = new Date();
  const started = performance.now();
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const at = performance.now();
    log(`${name}…`);
    const result = await run();
    log(`${name}: done in ${((performance.now() - at) / 1000).toFixed(1)} s`);
    return result;
  };

  const cpu = await step('2 CPU per request', () => measureCpu(size.cpu));
  const triggerCpu = await step('2b CPU per request, trigger path', () => measureTriggerCpu(size.triggerCpu));
  const { throughput, memory, tracingRuns } = await withEmulator({ logRequests: false }, async (emulator) => ({
    throughput: await step('1 throughput', () => measureThroughput(emulator, size.throughput)),
    memory: await step('4 memory', () => measureMemory(emulator, size.memory)),
    tracingRuns: await step('8 and 8b tracing', () =>
      measureTracing(emulator, [size.tracing.queue, size.tracing.engine]),
    ),
  }));
  const [tracing, tracingEngine] = tracingRuns;
  const coldStart = await step('3 cold start', () => measureColdStart(size.coldStartRuns));
  const writes = await step('5 ARM writes per change', () =>
    withEmulator({ logRequests: true }, (emulator) => measureWrites(emulator, size.writes)),
  );
  const throttle = await step('6 riding the throttle', () =>
    withEmulator({ logRequests: true, throttle: { writes: size.throttle.bucket } }, (emulator) =>
      measureThrottle(emulator, size.throttle),
    ),
  );

  const scaleOut = await step('7 scale-out', () => runScaleOut(size.scaleOut));

  const raw: RawResults = {
    throughput,
    cpu,
    triggerCpu,
    coldStart,
    memory,
    writes,
    throttle,
    scaleOut,
    tracing,
    tracingEngine,
  };
  const report: BenchReport = {
    smoke,
    startedAt: startedAt.toISOString(),
    durationSeconds: round((performance.now() - started) / 1000, 1),
    machine: machineInfo(),
    table: buildTable(raw),
    raw,
  };
  if (options.out !== undefined) {
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  }
  return report;
}

/** Row 7 alone (`npm run bench -- --only scale-out`): its own throttled emulator, full size unless `smoke`. */
export function runScaleOut(size: typeof SCALE_OUT = SCALE_OUT): Promise<ScaleOutResult> {
  return withEmulator({ logRequests: true, throttle: { writes: size.bucket } }, (emulator) =>
    measureScaleOut(emulator, size),
  );
}
