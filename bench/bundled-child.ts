/**
 * Bench children running the code bundled as the package bundles it (esbuild, minified, CommonJS:
 * scripts/build-package.ts), since that is what a deployed process runs: rows 2 and 2b (cpu-child.ts) and rows 8 and
 * 8b's workers (tracing-worker.ts). Under tsx every module is a CommonJS shim whose exports are getters called on each
 * cross-module call, and every named function is registered with `__name` each time one is made: about 15 % of row
 * 2b's CPU that the deployed bundle never spends, and more on a path that crosses more modules (the traced one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { EXTERNAL_MODULES } from '../scripts/build-package';
import { nextMessage, ROOT } from './child-emulator';
import type { CpuChildCommand, CpuChildMessage } from './cpu-child';

const TIMEOUT_MS = 600_000;

/** An entry bundled into a temporary directory: spawn it (with an IPC channel) as often as needed, then dispose. */
export interface BundledEntry {
  spawn(args: string[]): ChildProcess;
  dispose(): void;
}

/** Bundles `entry` (a .ts file of bench/) into one file. A dynamic import stays lazy: evaluated when first reached. */
export async function bundleEntry(entry: string): Promise<BundledEntry> {
  const dir = mkdtempSync(join(tmpdir(), 'apim-bench-'));
  try {
    const outfile = join(dir, basename(entry).replace(/\.ts$/, '.js'));
    await build({
      entryPoints: [entry],
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
    return {
      spawn: (args) =>
        spawn(process.execPath, [outfile, ...args], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Bundles cpu-child.ts, runs `command` in it and returns what it sent. */
export async function runBundledCpuChild(command: CpuChildCommand): Promise<CpuChildMessage> {
  const entry = await bundleEntry(join(__dirname, 'cpu-child.ts'));
  try {
    const child = entry.spawn([JSON.stringify(command)]);
    try {
      return await nextMessage<CpuChildMessage, 'result'>(child, 'cpu', 'result', TIMEOUT_MS);
    } finally {
      child.kill();
    }
  } finally {
    entry.dispose();
  }
}
