/**
 * Row 2b, CPU per request on the real trigger path (see trigger-path.ts for what one request goes through), measured
 * in a child process running the code bundled as the package bundles it (bundled-child.ts).
 */
import { join } from 'node:path';
import { bundleEntry } from './bundled-child';
import { nextMessage } from './child-emulator';
import type { TriggerCpuMessage } from './trigger-cpu-child';

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

const TIMEOUT_MS = 600_000;

/** Bundles the row's child, runs it with `options` and returns what it measured. */
export async function measureTriggerCpu(options: TriggerCpuOptions): Promise<TriggerCpuResult> {
  const entry = await bundleEntry(join(__dirname, 'trigger-cpu-child.ts'));
  try {
    const child = entry.spawn([JSON.stringify(options)]);
    try {
      return (await nextMessage<TriggerCpuMessage, 'result'>(child, 'trigger-cpu', 'result', TIMEOUT_MS)).result;
    } finally {
      child.kill();
    }
  } finally {
    entry.dispose();
  }
}
