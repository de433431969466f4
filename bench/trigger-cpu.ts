/**
 * Row 2b, CPU per request on the real trigger path (see trigger-path.ts for what one request goes through), measured
 * in the bundled child (see bundled-child.ts).
 */
import { runBundledCpuChild } from './bundled-child';

/** Sizes of the trigger-path row. */
export interface TriggerCpuOptions {
  requests: number;
  rounds: number;
  /** Rounds run before the measured ones. Default 3 (see trigger-path.ts). */
  warmUpRounds?: number;
  /** Measure without LEDGER_FINGERPRINT_KEY (the legacy scrypt fingerprint), for comparison. Default false. */
  withoutFingerprintKey?: boolean;
}

/** µs of CPU per request through the HTTP handler, per round, and their median. */
export interface TriggerCpuResult {
  options: TriggerCpuOptions;
  totalUs: number[];
  median: number;
}

/** Measures row 2b in the bundled child. */
export async function measureTriggerCpu(options: TriggerCpuOptions): Promise<TriggerCpuResult> {
  const message = await runBundledCpuChild({ row: 'trigger', options });
  if (message.row !== 'trigger') throw new Error(`the CPU child measured row ${message.row}, not trigger`);
  return message.result;
}
