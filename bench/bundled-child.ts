/**
 * A bench child process running its entry bundled as the package bundles the app (esbuild, minified, CommonJS:
 * scripts/build-package.ts), not under tsx. Under tsx every module is a CommonJS shim whose exports are getters called
 * on each cross-module call, and every named function is registered with `__name` each time one is made: work the
 * deployed bundle never does, and which grows with the code a path crosses (row 2b: ~15 % of its CPU).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { EXTERNAL_MODULES } from '../scripts/build-package';
import { ROOT } from './child-emulator';

/** An entry bundled into a temporary directory: spawn it (with an IPC channel) as often as needed, then dispose. */
export interface BundledEntry {
  spawn(args: string[]): ChildProcess;
  dispose(): void;
}

/** Bundles `entry` (a .ts file of bench/) into one CommonJS file. Dynamic imports stay lazy: evaluated when reached. */
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
