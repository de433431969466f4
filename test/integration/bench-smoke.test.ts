import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * `npm run bench --smoke` end to end: every row runs at tiny sizes and the report is complete. The goals are not
 * asserted: timings on a shared CI machine would make the test flaky, and the smoke sizes are too small to mean
 * anything. What is asserted is what `npm run bench` users rely on: it completes, and each row has numbers.
 */
describe('npm run bench (smoke)', () => {
  let dir: string;
  let run: ReturnType<typeof spawnSync>;
  let report: any;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'apim-bench-smoke-'));
    const out = join(dir, 'results.json');
    run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
      // ~45 s alone; more when the whole suite runs beside it on a shared 2-core machine.
      timeout: 110_000,
    });
    if (run.status === 0) report = JSON.parse(readFileSync(out, 'utf8'));
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('completes and prints the table', () => {
    expect({ status: run.status, stderr: run.status === 0 ? '' : String(run.stderr) }).toEqual({
      status: 0,
      stderr: '',
    });
    expect(String(run.stdout)).toMatch(/row\s+\| measure\s+\| value\s+\| goal\s+\| met\?/);
  });

  it('writes JSON with every row, each with a numeric value and a verdict where there is a goal', () => {
    expect(report).toBeDefined();
    expect(report.smoke).toBe(true);
    const rows = new Set(report.table.map((r: { row: string }) => r.row.split(' ')[0]));
    expect([...rows].sort()).toEqual(['1', '2', '2b', '3', '4', '5', '6', '7', '8', '8b']);
    for (const line of report.table) {
      expect(Number.isFinite(line.value)).toBe(true);
      expect(line.met === null ? line.goal : typeof line.met).toBe(line.met === null ? '—' : 'boolean');
    }
  });

  it('keeps the raw numbers and the machine they were measured on', () => {
    expect(Object.keys(report.raw).sort()).toEqual([
      'coldStart',
      'cpu',
      'memory',
      'scaleOut',
      'throttle',
      'throughput',
      'tracing',
      'tracingEngine',
      'triggerCpu',
      'writes',
    ]);
    expect(report.raw.throughput.bare.perSecond).toHaveLength(2);
    expect(report.raw.throughput.engine.medianPerSecond).toBeGreaterThan(0);
    expect(report.raw.coldStart.oursMs).toHaveLength(1);
    // The managed-identity line fetched its token from the local endpoint (warm-up run + measured run).
    expect(report.raw.coldStart.oursIdentityMs).toHaveLength(1);
    expect(report.raw.coldStart.identityTokenRequests).toBe(2);
    expect(report.raw.triggerCpu.totalUs).toHaveLength(2);
    // Rows 8 and 8b: the loss is the median of the per-round (paired) losses (each rounded to 3 places, so within
    // 0.001). Row 8's changes took the deployed path: its spans (ledger calls, a GET before the PUT) outnumber 8b's.
    for (const tracing of [report.raw.tracing, report.raw.tracingEngine]) {
      const { lossPerRound, loss } = tracing;
      expect(lossPerRound).toHaveLength(2);
      expect(Math.abs(loss - (lossPerRound[0] + lossPerRound[1]) / 2)).toBeLessThanOrEqual(0.001);
    }
    expect(report.raw.tracing.spansPerChange).toBeGreaterThan(report.raw.tracingEngine.spansPerChange);
    expect(report.raw.throttle.withLimiter.lost).toBe(0);
    expect(report.raw.writes.skipUnchanged.unchangedOutcomes).toBe(60);
    expect(report.machine).toMatchObject({ cpus: expect.any(Number), node: process.version });
  });
});
