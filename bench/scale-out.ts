/**
 * Row 7, scale-out: several app instances share one subscription's ARM writes bucket, and each learns it alone. N writes
 * split over `workers` processes (each with its own ARM client and write limiter, concurrency `concurrency` each)
 * against one emulator whose writes bucket holds `capacity` tokens refilled at `refillPerSecond`. The ideal time is
 * (N − capacity) / refill, as in row 6; the goals are ≤ 1.15× ideal, ≤ 5 % 429s, nothing lost.
 */
import { join } from 'node:path';
import type { BucketOptions } from '../local/arm-emulator';
import type { ChildEmulator } from './child-emulator';
import { nextMessage, spawnTs } from './child-emulator';
import type { ScaleOutWorkerArgs, ScaleOutWorkerMessage } from './scale-out-worker';
import { round } from './stats';
import { idealSeconds } from './throttle';

/** Long enough that nothing is given up in a run that paces well. */
const CALL_DEADLINE_MS = 120_000;
const WORKER_TIMEOUT_MS = 180_000;

/** What row 7 measured. */
export interface ScaleOutResult {
  workers: number;
  writes: number;
  concurrencyPerWorker: number;
  bucket: BucketOptions;
  idealSeconds: number;
  seconds: number;
  ofIdeal: number;
  throttled: number;
  throttledShare: number;
  lost: number;
  requestsSeen: number;
}

/** Runs the writes from `workers` processes at once against `emulator` (throttled, logging requests). */
export async function measureScaleOut(
  emulator: ChildEmulator,
  options: { workers: number; writes: number; concurrencyPerWorker: number; bucket: BucketOptions },
): Promise<ScaleOutResult> {
  const { workers, writes, concurrencyPerWorker, bucket } = options;
  await emulator.reset();
  const address = { url: emulator.url, caCertPem: emulator.caCertPem, token: emulator.token };
  const share = Math.ceil(writes / workers);
  const children = Array.from({ length: workers }, (_, w) => {
    const args: ScaleOutWorkerArgs = {
      emulator: address,
      first: w * share,
      count: Math.max(0, Math.min(share, writes - w * share)),
      concurrency: concurrencyPerWorker,
      deadlineMs: CALL_DEADLINE_MS,
    };
    return spawnTs(join(__dirname, 'scale-out-worker.ts'), [JSON.stringify(args)]);
  });
  const next = (child: (typeof children)[number], type: ScaleOutWorkerMessage['type']) =>
    nextMessage<ScaleOutWorkerMessage, typeof type>(child, 'scale-out', type, WORKER_TIMEOUT_MS);
  try {
    await Promise.all(children.map((child) => next(child, 'ready')));
    await emulator.reset(); // a full bucket at the start line
    const started = performance.now();
    const done = Promise.all(children.map((child) => next(child, 'done')));
    for (const child of children) child.send({ type: 'go' });
    const reports = await done;
    const seconds = (performance.now() - started) / 1000;
    const stats = await emulator.stats();
    const throttled = stats.byStatus['429'] ?? 0;
    const ideal = idealSeconds(writes, bucket);
    return {
      workers,
      writes,
      concurrencyPerWorker,
      bucket,
      idealSeconds: round(ideal, 2),
      seconds: round(seconds, 2),
      ofIdeal: round(seconds / ideal, 3),
      throttled,
      throttledShare: round(throttled / writes, 4),
      lost: reports.reduce((sum, r) => sum + (r.type === 'done' ? r.lost : 0), 0),
      requestsSeen: stats.total,
    };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}
