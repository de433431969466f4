/**
 * Row 2b, CPU per request on the real trigger path (see trigger-path.ts for what one request goes through), measured
 * in a child process running the code bundled as the package bundles it (esbuild, minified: scripts/build-package.ts).
 * Under tsx every module is a CommonJS shim whose exports are getters called on each cross-module call, and every
 * named function is registered with `__name` each time one is made: about 15 % of the row's CPU that the deployed
 * bundle never spends.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { EXTERNAL_MODULES } from '../scripts/build-package';
import { nextMessage, ROOT } from './child-emulator';
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
  const dir = mkdtempSync(join(tmpdir(), 'apim-bench-trigger-cpu-'));
  try {
    const outfile = join(dir, 'trigger-cpu-child.js');
    await build({
      entryPoints: [join(__dirname, 'trigger-cpu-child.ts')],
      absWorkingDir: ROOT,
      bundle: true,
      minify: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: [...EXTERNAL_MODULES],
      outfile,
      logLevel: 'warning',
    });
    const child = spawn(process.execPath, [outfile, JSON.stringify(options)], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    try {
      return (await nextMessage<TriggerCpuMessage, 'result'>(child, 'trigger-cpu', 'result', TIMEOUT_MS)).result;
    } finally {
      child.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
