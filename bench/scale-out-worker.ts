/**
 * One worker process of row 7 (scale-out): an app instance with its own ARM client and its own write limiter, as each
 * Functions instance has, writing its share of the backends to the shared emulator. Started by scale-out.ts with
 * `node --import tsx` and an IPC channel.
 *
 * argv[2]: {@link ScaleOutWorkerArgs} as JSON. Sends `{ type: 'ready' }`, waits for `{ type: 'go' }`, then sends
 * `{ type: 'done', lost, ms }` and exits.
 */
import { createWriteLimiter } from '../shared/adapters/arm/write-limiter';
import { benchArmClient, type EmulatorAddress } from './engine-deps';
import { runPool } from './stats';
import { benchBody, benchTarget } from './workload';

/** What one worker is told to do. */
export interface ScaleOutWorkerArgs {
  emulator: EmulatorAddress;
  /** The indices of the backends this worker writes: `first` … `first + count − 1`. */
  first: number;
  count: number;
  concurrency: number;
  deadlineMs: number;
}

/** A worker's report. */
export type ScaleOutWorkerMessage = { type: 'ready' } | { type: 'done'; lost: number; ms: number };

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as ScaleOutWorkerArgs;
  const arm = benchArmClient(args.emulator, { deadlineMs: args.deadlineMs, writeLimiter: createWriteLimiter() });
  const send = (message: ScaleOutWorkerMessage): void => void process.send?.(message);
  await new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    send({ type: 'ready' });
  });
  const started = performance.now();
  let lost = 0;
  await runPool(args.count, args.concurrency, async (i) => {
    const result = await arm.createOrUpdate(benchTarget(args.first + i), benchBody(args.first + i, 'scale-out'));
    if (result.kind !== 'ok') lost += 1;
  });
  send({ type: 'done', lost, ms: performance.now() - started });
  process.disconnect?.();
}

main().catch((error: unknown) => {
  process.stderr.write(`scale-out worker failed: ${String(error)}\n`);
  process.exitCode = 1;
});
