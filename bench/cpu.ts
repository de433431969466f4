/**
 * Row 2, CPU per request in our own code: validation, the engine's outcome building and redaction, and the result
 * event, each alone and together (see cpu-path.ts), measured in the bundled child (see bundled-child.ts).
 */
import { runBundledCpuChild } from './bundled-child';

/** Sizes of the CPU row. */
export interface CpuOptions {
  requests: number;
  rounds: number;
}

/** µs of CPU per request, per round, for the whole path and each part. */
export interface CpuResult {
  options: CpuOptions;
  totalUs: number[];
  validationUs: number[];
  engineUs: number[];
  eventUs: number[];
  /** Medians of the above. */
  median: { total: number; validation: number; engine: number; event: number };
}

/** Measures row 2 in the bundled child. */
export async function measureCpu(options: CpuOptions): Promise<CpuResult> {
  const message = await runBundledCpuChild({ row: 'cpu', options });
  if (message.row !== 'cpu') throw new Error(`the CPU child measured row ${message.row}, not cpu`);
  return message.result;
}
