/**
 * Entry of the memory-measurement child (bundled, then run with `node --expose-gc`), started by `measureMemory`: sends change
 * requests through validation, the engine, a real ARM client and event building against the emulator, and reports
 * the memory after a full GC at each checkpoint over IPC as `{ type: 'memory', checkpoints: [...] }`.
 *
 * argv[2]: JSON `{ url, caCertPem, token, checkpoints, concurrency, backends }`.
 */
import { parseChangeRequest } from '../shared/domain/contract/change-request';
import { applyChange } from '../shared/app/apply-change';
import { toResultMessage } from '../shared/adapters/service-bus/result-publisher';
import { benchArmClient, benchEngineDeps, type EmulatorAddress } from './engine-deps';
import { runPool } from './stats';
import { rawCreateOrUpdate } from './workload';

/** The child's arguments. */
export interface MemoryChildArgs extends EmulatorAddress {
  /** Request counts after which memory is sampled, ascending. */
  checkpoints: number[];
  concurrency: number;
  backends: number;
}

/** One sample, MB. */
export interface MemorySample {
  requests: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
}

const MB = 1024 * 1024;

function sample(requests: number): MemorySample {
  // Twice: the first collection's finalisers can free more for the second.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return { requests, rssMb: usage.rss / MB, heapUsedMb: usage.heapUsed / MB, externalMb: usage.external / MB };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as MemoryChildArgs;
  const deps = benchEngineDeps(benchArmClient(args), false);
  const atStart = sample(0);
  const samples: MemorySample[] = [];
  let done = 0;
  for (const checkpoint of args.checkpoints) {
    const from = done;
    await runPool(checkpoint - from, args.concurrency, async (k) => {
      const i = from + k;
      // A new state on every pass over the backends, so every PUT is a change.
      const parsed = parseChangeRequest(rawCreateOrUpdate(i % args.backends, `m${Math.floor(i / args.backends)}`));
      if (!parsed.ok) throw new Error('bench request invalid');
      const outcome = await applyChange(parsed.request, deps);
      if (outcome.status !== 'succeeded') throw new Error(`PUT ${outcome.status}: ${outcome.error?.code}`);
      toResultMessage(outcome, '/apim-backend-changes', new Date(), undefined);
    });
    done = checkpoint;
    samples.push(sample(done));
  }
  process.send?.({
    type: 'memory',
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    atStart,
    samples,
  });
  process.disconnect?.();
}

main().catch((error: unknown) => {
  process.stderr.write(`memory-child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
