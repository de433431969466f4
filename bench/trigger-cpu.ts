/**
 * Row 2b, CPU per request on the real trigger path (see trigger-path.ts for what one request goes through), measured
 * in the bundled child (see bundled-child.ts).
 */
import { runBundledCpuChild } from './bundled-child';
import { median, round } from './stats';

/** Sizes of the trigger-path row. */
export interface TriggerCpuOptions {
  requests: number;
  rounds: number;
  /** Rounds run before the measured ones. Default 3 (see trigger-path.ts). */
  warmUpRounds?: number;
  /** Measure without LEDGER_FINGERPRINT_KEY (the legacy scrypt fingerprint), for comparison. Default false. */
  withoutFingerprintKey?: boolean;
  /**
   * Child processes measured one after another. Default 1. One process's CPU per request sits for its whole life at
   * one of two levels here (about 45 or 70 µs: how V8 compiled and laid out that process), so the row takes the
   * median over processes rather than one process's luck.
   */
  processes?: number;
}

/** µs of CPU per request through the HTTP handler, per round, and their median. */
export interface TriggerCpuResult {
  options: TriggerCpuOptions;
  /** Every measured round, process after process. */
  totalUs: number[];
  /** The median of each process's rounds. */
  perProcess?: number[];
  /** The median of the processes' medians (one process: its median). */
  median: number;
}

/** Measures row 2b in the bundled child, in `options.processes` children one after another. */
export async function measureTriggerCpu(options: TriggerCpuOptions): Promise<TriggerCpuResult> {
  const runs: TriggerCpuResult[] = [];
  for (let p = 0; p < (options.processes ?? 1); p++) {
    const message = await runBundledCpuChild({ row: 'trigger', options });
    if (message.row !== 'trigger') throw new Error(`the CPU child measured row ${message.row}, not trigger`);
    runs.push(message.result);
  }
  const perProcess = runs.map((run) => run.median);
  return { options, totalUs: runs.flatMap((run) => run.totalUs), perProcess, median: round(median(perProcess), 1) };
}
