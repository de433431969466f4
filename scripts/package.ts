/**
 * `npm run package`: builds what is deployed to Azure Functions into `dist-package/` — the function entry bundled
 * and minified by esbuild (one CommonJS file, no node_modules), the lazily loaded SDKs as separate files, `host.json`
 * and a dependency-free `package.json` — then prints the sizes and the measured cold start.
 *
 * Usage: `tsx scripts/package.ts [--out-dir dist-package] [--no-zip] [--runs 5]`.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BUNDLE_FILE, buildPackage, DEFAULT_ROOT } from './build-package';
import { measureStartup, type StartupMeasurement } from './measure-startup';

/**
 * Zips the package to `zipFile` with the `zip` CLI when it is installed (no dependency is added for it).
 * Returns false when there is no `zip`.
 */
export function zipPackage(outDir: string, zipFile: string): boolean {
  if (spawnSync('zip', ['-v'], { stdio: 'ignore', timeout: 5_000 }).status !== 0) return false;
  rmSync(zipFile, { force: true }); // zip -r adds to an existing archive; start from nothing
  const result = spawnSync('zip', ['-q', '-r', '-X', resolve(zipFile), '.'], { cwd: outDir, timeout: 60_000 });
  if (result.status !== 0) throw new Error(`zip failed: ${result.stderr.toString().trim()}`);
  return true;
}

const kb = (bytes: number): string => `${bytes} bytes (${(bytes / 1024).toFixed(1)} KB)`;
const ms = (value: number): string => `${value.toFixed(1)} ms`;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'out-dir': { type: 'string', default: 'dist-package' },
      'no-zip': { type: 'boolean', default: false },
      runs: { type: 'string', default: '5' },
    },
  });
  const outDir = resolve(DEFAULT_ROOT, values['out-dir']);
  const started = performance.now();
  const result = await buildPackage({ outDir });
  console.log(`Built ${relative(process.cwd(), outDir) || '.'} in ${ms(performance.now() - started)}`);
  for (const file of result.files) console.log(`  ${file.path.padEnd(22)} ${kb(file.bytes)}`);
  console.log(`  ${'total'.padEnd(22)} ${kb(result.totalBytes)}`);
  console.log(`External (supplied by the Functions host): ${result.external.join(', ')}`);
  for (const name of result.inlinedLazyPackages) {
    console.warn(
      `WARNING: ${name} is imported statically somewhere, so it is inside ${BUNDLE_FILE} and no longer lazy.`,
    );
  }

  const runs: Array<Extract<StartupMeasurement, { ok: true }>> = [];
  for (let i = 0; i < Math.max(1, Number(values.runs) || 1); i++) {
    const run = await measureStartup(outDir);
    if (!run.ok) {
      console.error(`Requiring ${BUNDLE_FILE} failed: ${run.error}`);
      return 1;
    }
    runs.push(run);
  }
  console.log(
    `Cold start (median of ${runs.length}): require ${ms(median(runs.map((r) => r.requireMs)))}, ` +
      `process start → functions registered ${ms(median(runs.map((r) => r.readyMs)))}, ` +
      `→ first response ${ms(median(runs.map((r) => r.firstResponseMs)))}; ` +
      `registered: ${runs[0]?.registered.join(', ')}`,
  );

  if (!values['no-zip']) {
    const zipFile = `${outDir}.zip`;
    if (zipPackage(outDir, zipFile))
      console.log(`Zipped to ${relative(process.cwd(), zipFile)} (${kb(statSync(zipFile).size)})`);
    else console.log(`No zip CLI; to deploy: cd ${relative(process.cwd(), outDir)} && zip -r ../app.zip .`);
  }
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
