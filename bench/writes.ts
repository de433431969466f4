/**
 * Row 5, ARM writes per change: a mixed workload of createOrUpdate and update requests, 30% of which would change
 * nothing (their backends hold exactly the desired state), through `applyChange` with and without
 * `skipUnchanged`. Writes and reads are counted by the emulator, which sees every request.
 */
import type { ArmBackendClient } from '../shared/app/arm-ports';
import { parseChangeRequest, type ChangeRequest } from '../shared/domain/contract/change-request';
import { applyChange } from '../shared/app/apply-change';
import type { ChildEmulator } from './child-emulator';
import type { RequestStats } from './child-emulator-protocol';
import { benchArmClient, benchEngineDeps } from './engine-deps';
import { round, runPool } from './stats';
import { benchBody, benchPatchBody, benchTarget } from './workload';

/** Share of the workload that changes nothing. */
export const UNCHANGED_SHARE = 0.3;

/** One configuration's counts. */
export interface WritesSeries {
  requests: number;
  writes: number;
  reads: number;
  writesPerRequest: number;
  readsPerRequest: number;
  /** Outcomes reported `unchanged: true` (no write sent). */
  unchangedOutcomes: number;
  /** The emulator's counts per method for the workload (seeding excluded). */
  byMethod: Record<string, number>;
}

/** What row 5 measured. */
export interface WritesResult {
  requests: number;
  unchangedShare: number;
  skipUnchanged: WritesSeries;
  alwaysWrite: WritesSeries;
}

const WRITE_METHODS = ['PUT', 'PATCH', 'POST', 'DELETE'];
const READ_METHODS = ['GET', 'HEAD'];

/** Whether request `i` of the workload would change nothing: 3 of every 10. */
function isUnchanged(i: number): boolean {
  return i % 10 < UNCHANGED_SHARE * 10;
}

/** The workload's request `i`: createOrUpdate for even, update for odd indices. */
function workloadRequest(i: number): ChangeRequest {
  const tag = isUnchanged(i) ? 'desired' : 'new';
  const raw =
    i % 2 === 0
      ? { requestId: `w-${i}`, operation: 'createOrUpdate', target: benchTarget(i), body: benchBody(i, tag) }
      : { requestId: `w-${i}`, operation: 'update', target: benchTarget(i), body: benchPatchBody(i, tag) };
  const parsed = parseChangeRequest(raw);
  if (!parsed.ok) throw new Error(`bench request invalid: ${JSON.stringify(parsed.error)}`);
  return parsed.request;
}

function count(stats: RequestStats, before: RequestStats, methods: string[]): number {
  return methods.reduce((sum, m) => sum + (stats.byMethod[m] ?? 0) - (before.byMethod[m] ?? 0), 0);
}

async function runWorkload(
  emulator: ChildEmulator,
  arm: ArmBackendClient,
  requests: number,
  concurrency: number,
  skipUnchanged: boolean,
): Promise<WritesSeries> {
  await emulator.reset();
  // Seed every backend: the unchanged ones with exactly the desired state (written by PUT, so stored as ARM stores
  // it), the others with an older state.
  await runPool(requests, concurrency, async (i) => {
    const seeded = await arm.createOrUpdate(benchTarget(i), benchBody(i, isUnchanged(i) ? 'desired' : 'old'));
    if (seeded.kind !== 'ok') throw new Error(`seeding bench-${i} failed: ${seeded.kind}`);
  });
  const work = Array.from({ length: requests }, (_, i) => workloadRequest(i));
  const deps = benchEngineDeps(arm, skipUnchanged);
  const before = await emulator.stats();
  let unchangedOutcomes = 0;
  await runPool(requests, concurrency, async (i) => {
    const outcome = await applyChange(work[i]!, deps);
    if (outcome.status !== 'succeeded')
      throw new Error(`${work[i]!.operation} ${outcome.status}: ${outcome.error?.code}`);
    if (outcome.unchanged === true) unchangedOutcomes += 1;
  });
  const after = await emulator.stats();
  const writes = count(after, before, WRITE_METHODS);
  const reads = count(after, before, READ_METHODS);
  const byMethod: Record<string, number> = {};
  for (const m of [...WRITE_METHODS, ...READ_METHODS]) {
    const n = count(after, before, [m]);
    if (n > 0) byMethod[m] = n;
  }
  return {
    requests,
    writes,
    reads,
    writesPerRequest: round(writes / requests, 3),
    readsPerRequest: round(reads / requests, 3),
    unchangedOutcomes,
    byMethod,
  };
}

/**
 * Runs the workload twice against `emulator` (which must log requests): with `skipUnchanged` on, then off, each
 * from a freshly seeded state.
 */
export async function measureWrites(
  emulator: ChildEmulator,
  options: { requests: number; concurrency: number },
): Promise<WritesResult> {
  const arm = benchArmClient(emulator);
  const skipUnchanged = await runWorkload(emulator, arm, options.requests, options.concurrency, true);
  const alwaysWrite = await runWorkload(emulator, arm, options.requests, options.concurrency, false);
  return { requests: options.requests, unchangedShare: UNCHANGED_SHARE, skipUnchanged, alwaysWrite };
}
