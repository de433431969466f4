/**
 * Row 1, throughput against the limit: the same PUTs through the engine (`applyChange` with a real ARM client) and
 * through a bare keep-alive HTTPS loop, against the emulator in a child process, rounds interleaved.
 */
import { cpuUsage } from 'node:process';
import { parseChangeRequest, type ChangeRequest } from '../shared/domain/contract/change-request';
import { applyChange } from '../shared/app/apply-change';
import { createBareClient } from './bare-client';
import type { ChildEmulator } from './child-emulator';
import { benchArmClient, benchEngineDeps } from './engine-deps';
import { median, round, runPool } from './stats';
import { benchPath, rawCreateOrUpdate } from './workload';

/** Sizes of the throughput row. */
export interface ThroughputOptions {
  requests: number;
  concurrency: number;
  rounds: number;
  /** Distinct backends the requests cycle through. */
  backends: number;
}

/** One configuration's measurements: requests per second and client CPU µs per request, per round. */
export interface ThroughputSeries {
  perSecond: number[];
  clientCpuUsPerRequest: number[];
  medianPerSecond: number;
}

/** What row 1 measured. */
export interface ThroughputResult {
  options: ThroughputOptions;
  bare: ThroughputSeries;
  engine: ThroughputSeries;
  engineSkipUnchanged: ThroughputSeries;
  /** median(engine) / median(bare). */
  ratio: number;
  ratioSkipUnchanged: number;
}

type Config = 'bare' | 'engine' | 'engineSkipUnchanged';

/**
 * Measures the three configurations in `rounds` interleaved rounds (the order rotates each round, so drift of a
 * noisy machine spreads evenly). Every request must succeed; a failure aborts the row.
 */
export async function measureThroughput(
  emulator: ChildEmulator,
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  const { requests, concurrency, backends } = options;
  const bare = createBareClient(emulator.url, emulator.caCertPem, emulator.token, concurrency);
  const arm = benchArmClient(emulator);
  const deps = { engine: benchEngineDeps(arm, false), engineSkipUnchanged: benchEngineDeps(arm, true) };

  // Requests validated up front: this row measures the engine and client, row 2 the validation.
  const prepare = (tag: string): { requests: ChangeRequest[]; bodies: string[] } => {
    const list: ChangeRequest[] = [];
    const bodies: string[] = [];
    for (let i = 0; i < requests; i++) {
      const parsed = parseChangeRequest(rawCreateOrUpdate(i % backends, tag, `${tag}-${i}`));
      if (!parsed.ok) throw new Error(`bench request invalid: ${JSON.stringify(parsed.error)}`);
      list.push(parsed.request);
      bodies.push(JSON.stringify(parsed.request.body));
    }
    return { requests: list, bodies };
  };

  const runOnce = async (config: Config, tag: string, count = requests): Promise<{ ms: number; cpuUs: number }> => {
    // A fresh tag per run: every PUT changes the backend, so the skip-unchanged line reads and then writes.
    const work = prepare(tag);
    const cpuBefore = cpuUsage();
    const started = performance.now();
    await runPool(count, concurrency, async (i) => {
      if (config === 'bare') {
        const status = await bare.put(benchPath(i % backends), work.bodies[i]!);
        if (status < 200 || status > 299) throw new Error(`bare PUT answered ${status}`);
        return;
      }
      const outcome = await applyChange(work.requests[i]!, deps[config]);
      if (outcome.status !== 'succeeded') throw new Error(`engine PUT ${outcome.status}: ${outcome.error?.code}`);
    });
    const ms = performance.now() - started;
    const cpu = cpuUsage(cpuBefore);
    return { ms, cpuUs: cpu.user + cpu.system };
  };

  const series: Record<Config, ThroughputSeries> = {
    bare: { perSecond: [], clientCpuUsPerRequest: [], medianPerSecond: 0 },
    engine: { perSecond: [], clientCpuUsPerRequest: [], medianPerSecond: 0 },
    engineSkipUnchanged: { perSecond: [], clientCpuUsPerRequest: [], medianPerSecond: 0 },
  };
  const order: Config[] = ['bare', 'engine', 'engineSkipUnchanged'];
  try {
    // Warm-up: JIT, TLS sessions, the emulator's store filled; not counted.
    for (const config of order) await runOnce(config, `warm-${config}`, Math.min(requests, 500));
    for (let r = 0; r < options.rounds; r++) {
      for (let k = 0; k < order.length; k++) {
        const config = order[(r + k) % order.length]!;
        const { ms, cpuUs } = await runOnce(config, `r${r}-${config}`);
        series[config].perSecond.push(round((requests / ms) * 1000, 1));
        series[config].clientCpuUsPerRequest.push(round(cpuUs / requests, 1));
      }
    }
  } finally {
    bare.close();
  }
  for (const config of order) series[config].medianPerSecond = round(median(series[config].perSecond), 1);
  return {
    options,
    bare: series.bare,
    engine: series.engine,
    engineSkipUnchanged: series.engineSkipUnchanged,
    ratio: round(series.engine.medianPerSecond / series.bare.medianPerSecond, 3),
    ratioSkipUnchanged: round(series.engineSkipUnchanged.medianPerSecond / series.bare.medianPerSecond, 3),
  };
}
