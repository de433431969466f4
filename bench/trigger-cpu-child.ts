/**
 * Entry of row 2b's child (bundled, then run by `measureTriggerCpu`): measures the trigger
 * path and reports `{ type: 'result', result }` over IPC.
 *
 * argv[2]: JSON TriggerCpuOptions.
 */
import type { TriggerCpuOptions, TriggerCpuResult } from './trigger-cpu';
import { measureTriggerCpuHere } from './trigger-path';

/** What the child sends. */
export type TriggerCpuMessage = { type: 'result'; result: TriggerCpuResult };

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as TriggerCpuOptions;
  const message: TriggerCpuMessage = { type: 'result', result: await measureTriggerCpuHere(options) };
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
