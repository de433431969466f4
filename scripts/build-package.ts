/**
 * Builds what is deployed to Azure Functions: the function entry bundled and minified by esbuild (one CommonJS file,
 * no node_modules), the lazily loaded SDKs as separate files, `host.json` and a dependency-free `package.json`.
 * `npm run package` (scripts/package.ts) runs it; the package test and the cold-start bench build with it too.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
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
 *
 * `exports`, when given, is all the app takes from the package (the names its `await import` destructures; the
 * package test checks the sources against it): the file is then built from the package's ES module build with only
 * those exports, so esbuild leaves out what they never reach. For `@azure/service-bus` that is the administration
 * client with its XML and REST stack: 636 KB → 323 KB, compiled at every cold start because publishing a result
 * needs the client. Without `exports` the whole package is bundled, as `require` would load it.
 */
export const LAZY_CHUNKS: Readonly<Record<string, { file: string; exports?: readonly string[] }>> = {
  '@azure/identity': { file: 'identity.js' },
  '@azure/service-bus': { file: 'service-bus.js', exports: ['ServiceBusClient'] },
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

/** The repository root: what `npm run package` builds unless told otherwise. */
export const DEFAULT_ROOT = resolve(__dirname, '..');

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
        contents: `module.exports = require(${JSON.stringify(`./${LAZY_CHUNKS[args.path]?.file ?? args.path}`)});`,
        loader: 'js',
      }));
      b.onResolve({ filter: /^\.\//, namespace: 'lazy-chunk' }, (args) => ({ path: args.path, external: true }));
    },
  };
}

function chunkFiles(): string[] {
  return Object.values(LAZY_CHUNKS).map((chunk) => chunk.file);
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
  const scripts = [BUNDLE_FILE, ...chunkFiles(), ...Object.values(LAZY_MODULES)];
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
  const whole = Object.entries(LAZY_CHUNKS).filter(([, chunk]) => chunk.exports === undefined);
  await build({
    ...COMMON,
    absWorkingDir: rootDir,
    entryPoints: Object.fromEntries([
      ...whole.map(([name, chunk]) => [chunk.file.replace(/\.js$/, ''), name] as const),
      ...Object.entries(LAZY_MODULES).map(([path, file]) => [file.replace(/\.js$/, ''), join(rootDir, path)] as const),
    ]),
    outdir: outDir,
    // A lazy file's own dynamic imports of lazy packages (telemetry → identity) load the sibling file, not a copy.
    plugins: [lazyChunkPlugin(rootDir)],
  });
  for (const [name, chunk] of Object.entries(LAZY_CHUNKS)) {
    if (chunk.exports === undefined) continue;
    await build({
      ...COMMON,
      absWorkingDir: rootDir,
      // The ES module build (`module`) first: its exports can be tree-shaken, a CommonJS `main` cannot.
      mainFields: ['module', 'main'],
      stdin: {
        contents: `export { ${chunk.exports.join(', ')} } from ${JSON.stringify(name)};`,
        resolveDir: rootDir,
        sourcefile: `${chunk.file.replace(/\.js$/, '')}-entry.js`,
        loader: 'js',
      },
      outfile: join(outDir, chunk.file),
    });
  }

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
    lazyChunks: [...chunkFiles(), ...Object.values(LAZY_MODULES)],
    inlinedLazyPackages: Object.keys(LAZY_CHUNKS).filter((name) => inMain.has(name)),
  };
}
