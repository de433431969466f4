/**
 * `npm run package`: builds what is deployed to Azure Functions into `dist-package/` — the function entry bundled
 * and minified by esbuild (one CommonJS file, no node_modules), the lazily loaded SDKs as separate files, `host.json`
 * and a dependency-free `package.json` — then prints the sizes and the measured cold start.
 *
 * Usage: `tsx scripts/package.ts [--out-dir dist-package] [--no-zip] [--runs 5]`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';

/** The file the package's `main` points at. */
export const BUNDLE_FILE = 'index.js';

/**
 * Modules the package requires but does not contain. `@azure/functions-core` is not on npm: the Functions Node
 * worker supplies it at run time, and `@azure/functions` (bundled) falls back to "test mode" when it is missing.
 */
export const EXTERNAL_MODULES: readonly string[] = ['@azure/functions-core'];

/**
 * Packages the app imports with `await import(...)` because they are heavy and not every invocation needs them.
 * Each becomes its own file next to the bundle, required on first use: inlined, their code would be parsed at every
 * cold start (about a third of the start-up time measured) even when never run.
 */
export const LAZY_CHUNKS: Readonly<Record<string, string>> = {
  '@azure/identity': 'identity.js',
  '@azure/service-bus': 'service-bus.js',
};

/**
 * Modules of ours imported with `await import('./…')` that become their own file, like {@link LAZY_CHUNKS}: the
 * OpenTelemetry SDK and exporters behind the telemetry port, loaded only when an exporter is configured.
 * Keys are paths from the repository root.
 */
export const LAZY_MODULES: Readonly<Record<string, string>> = {
  'shared/adapters/telemetry/otel-sdk.ts': 'telemetry.js',
};

/** Where and from what to build the package. */
export interface PackageOptions {
  /** The output directory; it is emptied first. */
  outDir: string;
  /** The repository root (holds functions/, host.json, package.json). Defaults to the parent of scripts/. */
  rootDir?: string;
}

/** One file of the package. */
export interface PackageFile {
  /** Path relative to the output directory, with `/` separators. */
  path: string;
  bytes: number;
}

/** What {@link buildPackage} wrote. */
export interface PackageResult {
  outDir: string;
  /** `main` of the written package.json: the bundle, relative to `outDir`. */
  main: string;
  files: PackageFile[];
  totalBytes: number;
  /** Modules left out of the bundle (see {@link EXTERNAL_MODULES}). */
  external: string[];
  /** The separate, lazily required files (see {@link LAZY_CHUNKS}). */
  lazyChunks: string[];
  /**
   * Lazy packages that ended up inside the main bundle anyway, because some file imports them statically: their
   * parse cost is then paid at every cold start. Empty when the start-up path is as lean as intended.
   */
  inlinedLazyPackages: string[];
}

const DEFAULT_ROOT = resolve(__dirname, '..');

/** The esbuild settings shared by the bundle and the lazy chunks. */
const COMMON: BuildOptions = {
  bundle: true,
  minify: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // A linked map lets `node --enable-source-maps` (languageWorkers__node__arguments) report TypeScript positions;
  // without sources embedded, since the map is for stack traces and the sources stay in the repository.
  sourcemap: 'linked',
  sourcesContent: false,
  external: [...EXTERNAL_MODULES],
  logLevel: 'warning',
};

/**
 * Routes `await import('<lazy package>')` to `require('./<chunk>.js')`, resolved next to the bundle at run time.
 * The stand-in module is CommonJS so that esbuild wraps it in a lazy initialiser (the same
 * `Promise.resolve().then(() => require(...))` tsc emits), not a native `import()` through the ESM loader.
 */
function lazyChunkPlugin(rootDir: string): Plugin {
  const modules = new Map(
    Object.entries(LAZY_MODULES).map(([path, file]) => [join(rootDir, path).replace(/\.ts$/, ''), file] as const),
  );
  const names = Object.keys(LAZY_CHUNKS).map((name) => name.replace(/[/\\^$.*+?()[\]{}|-]/g, '\\$&'));
  return {
    name: 'lazy-chunks',
    setup(b) {
      b.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) =>
        // A static import must stay a static (bundled) import: only dynamic ones can be deferred.
        args.kind === 'dynamic-import' ? { path: args.path, namespace: 'lazy-chunk' } : undefined,
      );
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (args.kind !== 'dynamic-import' || args.namespace === 'lazy-chunk') return undefined;
        const file = modules.get(join(args.resolveDir, args.path).replace(/\.ts$/, ''));
        return file === undefined ? undefined : { path: file, namespace: 'lazy-chunk' };
      });
      b.onLoad({ filter: /.*/, namespace: 'lazy-chunk' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(`./${LAZY_CHUNKS[args.path] ?? args.path}`)});`,
        loader: 'js',
      }));
      b.onResolve({ filter: /^\.\//, namespace: 'lazy-chunk' }, (args) => ({ path: args.path, external: true }));
    },
  };
}

/** The packages (by node_modules name) whose code is part of an esbuild output. */
function bundledPackages(metafile: Metafile): Set<string> {
  const packages = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const input of Object.keys(output.inputs)) {
      const match = /(?:^|[\\/])node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(input);
      if (match?.[1] !== undefined) packages.add(match[1].replace(/\\/g, '/'));
    }
  }
  return packages;
}

function listFiles(dir: string, base = dir): PackageFile[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return listFiles(path, base);
      return [{ path: relative(base, path).split(sep).join('/'), bytes: statSync(path).size }];
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** Every file a build writes into the output directory. */
function outputFileNames(): Set<string> {
  const scripts = [BUNDLE_FILE, ...Object.values(LAZY_CHUNKS), ...Object.values(LAZY_MODULES)];
  return new Set(['host.json', 'package.json', ...scripts, ...scripts.map((file) => `${file}.map`)]);
}

/**
 * Empties the output directory, refusing when it holds anything a build does not write: an `--out-dir .` or
 * `--out-dir functions` typo must not delete sources.
 */
function prepareOutDir(outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  const ours = outputFileNames();
  const entries = readdirSync(outDir, { withFileTypes: true });
  const strangers = entries.filter((entry) => !entry.isFile() || !ours.has(entry.name)).map((entry) => entry.name);
  if (strangers.length > 0) {
    throw new Error(
      `Refusing to empty ${outDir}: it holds ${strangers.slice(0, 5).join(', ')}, which a build does not write.`,
    );
  }
  for (const entry of entries) rmSync(join(outDir, entry.name));
}

/**
 * Builds the deployable package into `options.outDir` (emptied first; see {@link prepareOutDir}): `index.js` (+ `.map`), one file per lazy
 * package, `host.json`, and a `package.json` whose `main` is the bundle and which has no dependencies. Throws when
 * esbuild reports an error (a broken build is not something to carry on from).
 */
export async function buildPackage(options: PackageOptions): Promise<PackageResult> {
  const rootDir = resolve(options.rootDir ?? DEFAULT_ROOT);
  const outDir = resolve(options.outDir);
  prepareOutDir(outDir);

  const main = await build({
    ...COMMON,
    absWorkingDir: rootDir,
    entryPoints: [join(rootDir, 'functions', 'index.ts')],
    outfile: join(outDir, BUNDLE_FILE),
    plugins: [lazyChunkPlugin(rootDir)],
    metafile: true,
  });
  await build({
    ...COMMON,
    absWorkingDir: rootDir,
    entryPoints: Object.fromEntries([
      ...Object.entries(LAZY_CHUNKS).map(([name, file]) => [file.replace(/\.js$/, ''), name] as const),
      ...Object.entries(LAZY_MODULES).map(([path, file]) => [file.replace(/\.js$/, ''), join(rootDir, path)] as const),
    ]),
    outdir: outDir,
    // A lazy file's own dynamic imports of lazy packages (telemetry → identity) load the sibling file, not a copy.
    plugins: [lazyChunkPlugin(rootDir)],
  });

  copyFileSync(join(rootDir, 'host.json'), join(outDir, 'host.json'));
  const app = JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const manifest = {
    name: app['name'],
    version: app['version'],
    description: app['description'],
    private: true,
    type: 'commonjs',
    main: BUNDLE_FILE,
    engines: app['engines'],
    // Everything is bundled; the only external module is supplied by the Functions host.
    dependencies: {},
  };
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  const files = listFiles(outDir);
  const inMain = bundledPackages(main.metafile);
  return {
    outDir,
    main: BUNDLE_FILE,
    files,
    totalBytes: files.reduce((sum, file) => sum + file.bytes, 0),
    external: [...EXTERNAL_MODULES],
    lazyChunks: [...Object.values(LAZY_CHUNKS), ...Object.values(LAZY_MODULES)],
    inlinedLazyPackages: Object.keys(LAZY_CHUNKS).filter((name) => inMain.has(name)),
  };
}

/** A cold start of the package, in a fresh `node` process with an empty environment. */
export type StartupMeasurement =
  | {
      ok: true;
      /** Duration of `require(main)` alone. */
      requireMs: number;
      /** From process start until every function is registered with the (stand-in) host. */
      readyMs: number;
      /** From process start until the first HTTP invocation was answered (one that needs no network). */
      firstResponseMs: number;
      /** The HTTP status of that first answer. */
      firstResponseStatus: number | undefined;
      /** The functions the package registered, in order. */
      registered: string[];
    }
  | { ok: false; error: string };

/**
 * Runs in the child: stands in for the Functions worker's `@azure/functions-core` (as the worker does, by
 * intercepting the module load), requires the bundle, then invokes `backendChanges` once with a body of the wrong
 * media type — a request answered without any network, so the time is the app's own. The request is a minimal
 * stand-in for the host's HttpRequest (a `Headers` would load undici, which the worker has loaded already).
 */
const STARTUP_PROBE = `
const Module = require('node:module');
const registered = new Map();
const core = {
  setProgrammingModel() {},
  registerHook() { return { dispose() {} }; },
  registerFunction(metadata, handler) { registered.set(metadata.name, handler); return { dispose() {} }; },
};
const load = Module._load;
Module._load = function (request, parent, isMain) {
  return request === '@azure/functions-core' ? core : load.call(this, request, parent, isMain);
};
(async () => {
  const before = performance.now();
  require(process.argv[1]);
  const ready = performance.now();
  const handler = registered.get('backendChanges');
  const quiet = () => {};
  const response = handler === undefined ? undefined : await handler(
    { method: 'POST', url: 'http://localhost/api/backend-changes', params: {},
      headers: { get: (name) => (name.toLowerCase() === 'content-type' ? 'text/plain' : null) },
      text: async () => 'probe' },
    { invocationId: 'startup-probe', functionName: 'backendChanges', log: quiet, warn: quiet, error: quiet },
  );
  const answered = performance.now();
  console.log(JSON.stringify({ requireMs: ready - before, readyMs: ready, firstResponseMs: answered,
    firstResponseStatus: response && response.status, registered: [...registered.keys()] }));
})().catch((error) => { console.error(error); process.exitCode = 1; });
`;

/**
 * Measures one cold start of the package in `outDir` (see {@link StartupMeasurement}). The child gets no app
 * settings, so every setting takes its default, and is killed after `timeoutMs` or when `signal` aborts.
 */
export function measureStartup(
  outDir: string,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<StartupMeasurement> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['-e', STARTUP_PROBE, join(resolve(outDir), BUNDLE_FILE)], {
      env: { PATH: process.env['PATH'] ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 15_000,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => done({ ok: false, error: error.message }));
    child.on('close', (code, signal) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        done({ ok: false, error: `exit ${code ?? signal}: ${stderr.trim() || stdout.trim()}` });
        return;
      }
      done({ ok: true, ...(JSON.parse(last) as Omit<Extract<StartupMeasurement, { ok: true }>, 'ok'>) });
    });
  });
}

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
