/**
 * Rows 2 and 2b run in a child process executing the code bundled as the package bundles it (esbuild, minified:
 * scripts/build-package.ts), since that is what a deployed process runs. Under tsx every module is a CommonJS shim
 * whose exports are getters called on each cross-module call, and every named function is registered with `__name`
 * each time one is made: about 15 % of row 2b's CPU that the deployed bundle never spends.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { EXTERNAL_MODULES } from '../scripts/build-package';
import { nextMessage, ROOT } from './child-emulator';
import type { CpuChildCommand, CpuChildMessage } from './cpu-child';

const TIMEOUT_MS = 600_000;

/** Bundles cpu-child.ts, runs `command` in it and returns what it sent. */
export async function runBundledCpuChild(command: CpuChildCommand): Promise<CpuChildMessage> {
  const dir = mkdtempSync(join(tmpdir(), 'apim-bench-cpu-'));
  try {
    const outfile = join(dir, 'cpu-child.js');
    await build({
      entryPoints: [join(__dirname, 'cpu-child.ts')],
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
    const child = spawn(process.execPath, [outfile, JSON.stringify(command)], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    try {
      return await nextMessage<CpuChildMessage, 'result'>(child, 'cpu', 'result', TIMEOUT_MS);
    } finally {
      child.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
