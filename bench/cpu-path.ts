/**
 * Row 2's measurement, run in the bundled child (cpu-child.ts): validation (`parseChangeRequest`), the engine's
 * outcome building and redaction (`applyChange` against an in-memory client), and the result event
 * (`toResultMessage`), timed with `process.cpuUsage()` without any I/O.
 */
import { cpuUsage } from 'node:process';
import { parseChangeRequest, type ChangeRequest } from '../shared/domain/contract/change-request';
import type { Outcome } from '../shared/domain/contract/outcome';
import { applyChange } from '../shared/app/apply-change';
import { toResultMessage } from '../shared/adapters/service-bus/result-publisher';
import { cannedArmClient } from './canned-arm-client';
import { benchEngineDeps } from './engine-deps';
import { median, round } from './stats';
import { rawCreateOrUpdate } from './workload';
import type { CpuOptions, CpuResult } from './cpu';

const SOURCE = '/apim-backend-changes';

async function cpuOf(count: number, run: (i: number) => unknown): Promise<number> {
  const before = cpuUsage();
  for (let i = 0; i < count; i++) await run(i);
  const used = cpuUsage(before);
  return (used.user + used.system) / count;
}

/**
 * Measures the CPU per request of the whole path (validate → execute → build the event) and of each part, in
 * `rounds` rounds after one warm-up round. The engine runs with `skipUnchanged: false` (one canned PUT answer).
 */
export async function measureCpuHere(options: CpuOptions): Promise<CpuResult> {
  const { requests } = options;
  const deps = benchEngineDeps(cannedArmClient(), false);
  const raws = Array.from({ length: requests }, (_, i) => rawCreateOrUpdate(i, 'cpu'));
  const parsed: ChangeRequest[] = raws.map((raw) => {
    const result = parseChangeRequest(raw);
    if (!result.ok) throw new Error(`bench request invalid: ${JSON.stringify(result.error)}`);
    return result.request;
  });
  const outcomes: Outcome[] = [];
  for (const request of parsed) outcomes.push(await applyChange(request, deps));
  const time = new Date();

  const whole = async (i: number): Promise<void> => {
    const result = parseChangeRequest(raws[i]);
    if (!result.ok) throw new Error('invalid');
    const outcome = await applyChange(result.request, deps);
    toResultMessage(outcome, SOURCE, new Date(), undefined);
  };
  const series = {
    totalUs: [] as number[],
    validationUs: [] as number[],
    engineUs: [] as number[],
    eventUs: [] as number[],
  };
  for (let r = -1; r < options.rounds; r++) {
    const total = await cpuOf(requests, whole);
    const validation = await cpuOf(requests, (i) => parseChangeRequest(raws[i]));
    const engine = await cpuOf(requests, (i) => applyChange(parsed[i]!, deps));
    const event = await cpuOf(requests, (i) => toResultMessage(outcomes[i]!, SOURCE, time, undefined));
    if (r < 0) continue; // warm-up round
    series.totalUs.push(round(total, 1));
    series.validationUs.push(round(validation, 1));
    series.engineUs.push(round(engine, 1));
    series.eventUs.push(round(event, 1));
  }
  return {
    options,
    ...series,
    median: {
      total: round(median(series.totalUs), 1),
      validation: round(median(series.validationUs), 1),
      engine: round(median(series.engineUs), 1),
      event: round(median(series.eventUs), 1),
    },
  };
}
