/**
 * `npm run bench`: measures throughput against the limit, CPU per request, cold start, memory, ARM writes per change
 * and riding the throttle, side by side in one run; prints one table and writes it, with the raw numbers and the
 * machine info, to `bench/results.json`.
 *
 * Usage: `tsx bench/run.ts [--smoke] [--out bench/results.json]`; `--only <row>` runs one row alone (no JSON):
 * `throughput` (row 1), `cpu` (rows 2 and 2b), `cold-start` (3), `scale-out` (7), `tracing` (8).
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTable, scaleOutRows } from './report';
import { runBench, runColdStartRow, runCpuRows, runScaleOut, runThroughputRow, runTracingRow } from './run-bench';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      out: { type: 'string', default: join(__dirname, 'results.json') },
      only: { type: 'string' },
    },
  });
  const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
  if (values.only !== undefined) {
    const alone: Record<string, () => Promise<string>> = {
      'scale-out': async () => {
        const result = await runScaleOut();
        return `${formatTable(scaleOutRows(result))}\n${JSON.stringify(result)}`;
      },
      throughput: () => runThroughputRow({ smoke: values.smoke, log }),
      tracing: () => runTracingRow({ smoke: values.smoke, log }),
      cpu: () => runCpuRows({ smoke: values.smoke, log }),
      'cold-start': () => runColdStartRow({ smoke: values.smoke, log }),
    };
    const run = alone[values.only];
    if (run === undefined) {
      throw new Error(`--only knows ${Object.keys(alone).join(', ')}, not '${values.only}'`);
    }
    process.stdout.write(`\n${await run()}\n`);
    return;
  }
  const out = resolve(values.out);
  const report = await runBench({ smoke: values.smoke, out, log });
  const { machine } = report;
  process.stdout.write(
    `\n${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, ${machine.platform}` +
      `${report.smoke ? ' — SMOKE sizes: the numbers mean nothing' : ''}\n` +
      `Medians of rounds; ratios compare configurations measured in the same run.\n\n` +
      `${formatTable(report.table)}\n\nTotal ${report.durationSeconds} s. Written to ${out}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
