/**
 * Entry of the child of rows 2 and 2b (bundled, then run by `runBundledCpuChild`): runs one row's measurement and
 * reports `{ type: 'result', row, result }` over IPC.
 *
 * argv[2]: JSON CpuChildCommand.
 */
import type { CpuOptions, CpuResult } from './cpu';
import { measureCpuHere } from './cpu-path';
import type { TriggerCpuOptions, TriggerCpuResult } from './trigger-cpu';
import { measureTriggerCpuHere } from './trigger-path';

/** What the child is asked to measure. */
export type CpuChildCommand = { row: 'cpu'; options: CpuOptions } | { row: 'trigger'; options: TriggerCpuOptions };

/** What the child sends. */
export type CpuChildMessage =
  { type: 'result'; row: 'cpu'; result: CpuResult } | { type: 'result'; row: 'trigger'; result: TriggerCpuResult };

async function measure(command: CpuChildCommand): Promise<CpuChildMessage> {
  return command.row === 'cpu'
    ? { type: 'result', row: 'cpu', result: await measureCpuHere(command.options) }
    : { type: 'result', row: 'trigger', result: await measureTriggerCpuHere(command.options) };
}

async function main(): Promise<void> {
  const message = await measure(JSON.parse(process.argv[2] ?? '{}') as CpuChildCommand);
  await new Promise<void>((resolve, reject) =>
    process.send?.(message, (error: Error | null) => (error === null ? resolve() : reject(error))),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
