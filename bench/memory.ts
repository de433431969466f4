/**
 * Row 4, memory: RSS after N and after 4N requests through validation, the engine and a real ARM client (and event
 * building), in a child `node --expose-gc` so a full GC precedes each sample and nothing else shares the heap.
 * The child is bundled with esbuild first, as the deployed app is: under tsx the loader alone adds ~60 MB of RSS.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './child-emulator';
import type { EmulatorAddress } from './engine-deps';
import type { MemoryChildArgs, MemorySample } from './memory-child';
import { round } from './stats';

const TIMEOUT_MS = 300_000;

/** What row 4 measured. */
export interface MemoryResult {
  checkpoints: number[];
  gcExposed: boolean;
  /** After the modules are loaded, before any request. */
  atStart: MemorySample;
  samples: MemorySample[];
  /** RSS at the first and the last checkpoint, MB, and the growth between them in percent. */
  rssFirstMb: number;
  rssLastMb: number;
  growthPercent: number;
}

type Received = { gcExposed: boolean; atStart: MemorySample; samples: MemorySample[] };

const roundSample = (s: MemorySample): MemorySample => ({
  requests: s.requests,
  rssMb: round(s.rssMb, 1),
  heapUsedMb: round(s.heapUsedMb, 1),
  externalMb: round(s.externalMb, 1),
});

/** Bundles the memory child, runs it against `emulator` and collects its samples. */
export async function measureMemory(
  emulator: EmulatorAddress,
  options: { checkpoints: number[]; concurrency: number; backends: number },
): Promise<MemoryResult> {
  const dir = mkdtempSync(join(tmpdir(), 'apim-bench-memory-'));
  try {
    const outfile = join(dir, 'memory-child.js');
    await build({
      entryPoints: [join(__dirname, 'memory-child.ts')],
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      outfile,
      logLevel: 'warning',
    });
    return await runChild(outfile, { ...emulator, ...options });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(file: string, args: MemoryChildArgs): Promise<MemoryResult> {
  const child = spawn(process.execPath, ['--expose-gc', file, JSON.stringify(args)], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise<MemoryResult>((resolve, reject) => {
    let received: Received | undefined;
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`memory child did not finish within ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    child.on('message', (message: unknown) => {
      received = message as Received;
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      const first = received?.samples[0];
      const last = received?.samples[received.samples.length - 1];
      if (code !== 0 || received === undefined || first === undefined || last === undefined) {
        reject(new Error(`memory child exited with ${code} without its samples`));
        return;
      }
      resolve({
        checkpoints: args.checkpoints,
        gcExposed: received.gcExposed,
        atStart: roundSample(received.atStart),
        samples: received.samples.map(roundSample),
        rssFirstMb: round(first.rssMb, 1),
        rssLastMb: round(last.rssMb, 1),
        growthPercent: round(((last.rssMb - first.rssMb) / first.rssMb) * 100, 1),
      });
    });
  });
}
