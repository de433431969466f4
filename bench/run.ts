/**
 * `npm run bench`: measures throughput against the limit, CPU per request, cold start, memory, ARM writes per change
 * and riding the throttle, side by side in one run; prints one table and writes it, with the raw numbers and the
 * machine info, to `bench/results.json`.
 *
 * Usage: `tsx bench/run.ts [--smoke] [--out bench/results.json]`; `--only scale-out` runs row 7 alone (no JSON),
 * `--only tracing` row 8, `--only throughput` row 1.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTable, scaleOutRows } from './report';
import { runBench, runScaleOut, runThroughputRow, runTracingRow } from './run-bench';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      out: { type: 'string', default: join(__dirname, 'results.json') },
      only: { type: 'string' },
    },
  });
  if (values.only !== undefined && values.only !== 'tracing' && values.only !== 'throughput') {
    if (values.only !== 'scale-out') {
      throw new Error(`--only knows 'scale-out', 'tracing' and 'throughput', not '${values.only}'`);
    }
    const result = await runScaleOut();
    process.stdout.write(`${formatTable(scaleOutRows(result))}\n${JSON.stringify(result)}\n`);
    return;
  }
  const out = resolve(values.out);
  const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
  if (values.only === 'throughput') {
    process.stdout.write(`\n${await runThroughputRow({ smoke: values.smoke, log })}\n`);
    return;
  }
  if (values.only !== undefined) {
    process.stdout.write(`\n${await runTracingRow({ smoke: values.smoke, log })}\n`);
    return;
  }
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
