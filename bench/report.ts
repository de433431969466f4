/**
 * The benchmark's report: one table row per measure (value, goal, met?), built from the raw results, printed as
 * text and written as JSON together with the raw numbers and the machine they were measured on.
 */
import { cpus, totalmem } from 'node:os';
import type { ColdStartResult } from './cold-start';
import type { CpuResult } from './cpu';
import type { MemoryResult } from './memory';
import type { ScaleOutResult } from './scale-out';
import type { ThrottleResult } from './throttle';
import type { ThroughputResult } from './throughput';
import { tracingRows, type TracingResult } from './tracing';
import type { TriggerCpuResult } from './trigger-cpu';
import type { WritesResult } from './writes';
import { atMost, info } from './table-rows';

/** One line of the table. `met` is null for a measure shown for context, without a goal. */
export interface TableRow {
  row: string;
  measure: string;
  value: number;
  unit: string;
  goal: string;
  met: boolean | null;
}

/** Everything the benchmark measured. */
export interface RawResults {
  throughput: ThroughputResult;
  cpu: CpuResult;
  triggerCpu: TriggerCpuResult;
  coldStart: ColdStartResult;
  memory: MemoryResult;
  writes: WritesResult;
  throttle: ThrottleResult;
  scaleOut: ScaleOutResult;
  /** Row 8: a change as deployed (absent in reports written before it existed). */
  tracing?: TracingResult;
  /** Row 8b: the engine alone (absent in reports written before it existed). */
  tracingEngine?: TracingResult;
}

/** The machine the numbers come from. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  totalMemoryMb: number;
}

/** The JSON written to `bench/results.json`. */
export interface BenchReport {
  smoke: boolean;
  startedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  table: TableRow[];
  raw: RawResults;
}

/** The current machine. */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    totalMemoryMb: Math.round(totalmem() / (1024 * 1024)),
  };
}

const exactly = (row: string, measure: string, value: number, unit: string, wanted: number): TableRow => ({
  row,
  measure,
  value,
  unit,
  goal: `= ${wanted}`,
  met: value === wanted,
});

const atLeast = (row: string, measure: string, value: number, unit: string, limit: number): TableRow => ({
  row,
  measure,
  value,
  unit,
  goal: `≥ ${limit}`,
  met: value >= limit,
});

/** Row 1's lines: the bare loop, the engine, and their ratio (also printed alone by `--only throughput`). */
export function throughputRows(tp: ThroughputResult): TableRow[] {
  const r1 = `1 throughput (${tp.options.requests} PUTs, c=${tp.options.concurrency})`;
  return [
    info(r1, 'bare keep-alive HTTPS loop (the limit)', tp.bare.medianPerSecond, 'req/s'),
    info(r1, 'engine, skipUnchanged off (PUT)', tp.engine.medianPerSecond, 'req/s'),
    atLeast(r1, 'engine / bare (stretch 0.90)', tp.ratio, '×', 0.8),
    info(r1, 'engine, skipUnchanged on (GET + PUT)', tp.engineSkipUnchanged.medianPerSecond, 'req/s'),
    info(r1, 'engine skipUnchanged on / bare', tp.ratioSkipUnchanged, '×'),
  ];
}

/** The table rows for the raw results, in the order of the issue's list. */
export function buildTable(raw: RawResults): TableRow[] {
  const { throughput: tp, cpu, triggerCpu, coldStart: cs, memory: mem, writes: wr, throttle: th } = raw;
  const r4 = '4 memory';
  const r5 = `5 ARM writes (${wr.requests} req, ${wr.unchangedShare * 100}% no-op)`;
  const r6 = `6 throttle (${th.writes} writes, ${th.bucket.capacity}/${th.bucket.refillPerSecond} per s)`;
  const [first, last] = [mem.samples[0], mem.samples[mem.samples.length - 1]];
  return [
    ...throughputRows(tp),
    ...cpuRows(cpu, triggerCpu),
    ...coldStartRows(cs),
    atMost(r4, `RSS after ${first?.requests ?? '?'} requests`, mem.rssFirstMb, 'MB', 150),
    atMost(r4, `RSS after ${last?.requests ?? '?'} requests`, mem.rssLastMb, 'MB', 150),
    atMost(r4, 'RSS growth between them', mem.growthPercent, '%', 10),
    atMost(r5, 'writes / request, skipUnchanged on', wr.skipUnchanged.writesPerRequest, '', 0.72),
    info(r5, 'reads / request, skipUnchanged on', wr.skipUnchanged.readsPerRequest, ''),
    info(r5, 'writes / request, skipUnchanged off', wr.alwaysWrite.writesPerRequest, ''),
    info(r5, 'reads / request, skipUnchanged off', wr.alwaysWrite.readsPerRequest, ''),
    info(r6, 'ideal time (N − capacity) / refill', th.idealSeconds, 's'),
    atMost(r6, 'with write limiter: time / ideal', th.withLimiter.ofIdeal, '×', 1.15),
    atMost(r6, 'with write limiter: 429s / writes', round2(th.withLimiter.throttledShare * 100), '%', 5),
    exactly(r6, 'with write limiter: lost writes', th.withLimiter.lost, '', 0),
    info(r6, 'without: time / ideal', th.withoutLimiter.ofIdeal, '×'),
    info(r6, 'without: 429s / writes', round2(th.withoutLimiter.throttledShare * 100), '%'),
    info(r6, 'without: lost writes', th.withoutLimiter.lost, ''),
    ...(raw.tracing === undefined ? [] : tracingRows(raw.tracing)),
    ...(raw.tracingEngine === undefined ? [] : tracingRows(raw.tracingEngine)),
    ...scaleOutRows(raw.scaleOut),
  ];
}

/** Rows 2 and 2b (also printed alone by `--only cpu`). */
export function cpuRows(cpu: CpuResult, triggerCpu: TriggerCpuResult): TableRow[] {
  const r2 = '2 CPU per request';
  return [
    info(r2, 'validate + execute + event, total', cpu.median.total, 'µs'),
    info(r2, 'parseChangeRequest', cpu.median.validation, 'µs'),
    info(r2, 'applyChange (outcome, redaction)', cpu.median.engine, 'µs'),
    info(r2, 'toResultMessage (event)', cpu.median.event, 'µs'),
    atMost(
      '2b CPU per request, trigger path',
      'HTTP handler → validate → fingerprint + ledger → execute → event, credentials in body',
      triggerCpu.median,
      'µs',
      50,
    ),
  ];
}

/** Row 3 (also printed alone by `--only cold-start`). */
export function coldStartRows(cs: ColdStartResult): TableRow[] {
  const r3 = '3 cold start';
  return [
    info(r3, 'ours: spawn → first change applied + event published', cs.median.ours, 'ms'),
    info(
      r3,
      'ours, managed identity (local token endpoint): spawn → first change + event',
      cs.median.oursIdentity,
      'ms',
    ),
    info(r3, 'conventional stack: spawn → imported, exit', cs.median.conventionalImport, 'ms'),
    info(r3, 'node -e 0: spawn → exit', cs.median.nodeBaseline, 'ms'),
    atMost(r3, 'ours / conventional import (stretch 0.6)', cs.ratio, '×', 0.8),
    atMost(r3, 'ours with managed identity / conventional import', cs.ratioIdentity, '×', 0.8),
  ];
}

/** Row 7's lines (also printed alone by `--only scale-out`). */
export function scaleOutRows(so: ScaleOutResult): TableRow[] {
  const r7 = `7 scale-out (${so.workers} workers × c=${so.concurrencyPerWorker}, ${so.writes} writes, ${so.bucket.capacity}/${so.bucket.refillPerSecond} per s)`;
  return [
    info(r7, 'ideal time (N − capacity) / refill', so.idealSeconds, 's'),
    atMost(r7, 'time / ideal', so.ofIdeal, '×', 1.15),
    atMost(r7, '429s / writes', round2(so.throttledShare * 100), '%', 5),
    exactly(r7, 'lost writes', so.lost, '', 0),
  ];
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The table as aligned text. */
export function formatTable(rows: readonly TableRow[]): string {
  const cells = rows.map((r) => [
    r.row,
    r.measure,
    `${r.value}${r.unit === '' ? '' : ` ${r.unit}`}`,
    r.goal,
    r.met === null ? '' : r.met ? 'met' : 'MISSED',
  ]);
  const header = ['row', 'measure', 'value', 'goal', 'met?'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string =>
    c
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join(' | ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n');
}
