import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { functionRegistrations } from '../../functions/registrations';
import { buildPackage, EXTERNAL_MODULES, LAZY_CHUNKS, type PackageResult } from '../../scripts/build-package';
import { measureStartup } from '../../scripts/measure-startup';

const ROOT = join(__dirname, '..', '..');

/** Runs `node -e script` in `cwd` with an empty environment, as a fresh Functions worker would start. */
function runNode(script: string, cwd: string) {
  return spawnSync(process.execPath, ['-e', script], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '' },
    encoding: 'utf8',
    timeout: 15_000,
  });
}

/** Every .ts file under `dir`. */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('npm run package (the deployable bundle)', () => {
  let outDir: string;
  let result: PackageResult;

  beforeAll(async () => {
    // Outside the repository, so the bundle cannot fall back on the repository's node_modules.
    outDir = join(mkdtempSync(join(tmpdir(), 'apim-package-')), 'dist-package');
    result = await buildPackage({ outDir });
  }, 60_000);

  afterAll(() => rmSync(dirname(outDir), { recursive: true, force: true }));

  it('writes host.json, the bundle with its source map, and a package.json whose main is the bundle', () => {
    expect(readFileSync(join(outDir, 'host.json'), 'utf8')).toBe(readFileSync(join(ROOT, 'host.json'), 'utf8'));

    const manifest = JSON.parse(readFileSync(join(outDir, 'package.json'), 'utf8'));
    const app = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: app.name, version: app.version, main: 'index.js', dependencies: {} });
    expect(existsSync(join(outDir, manifest.main))).toBe(true);

    const bundle = readFileSync(join(outDir, manifest.main), 'utf8');
    expect(bundle.trimEnd().endsWith('//# sourceMappingURL=index.js.map')).toBe(true);
    const map = JSON.parse(readFileSync(join(outDir, 'index.js.map'), 'utf8')) as { sources: string[] };
    expect(map.sources.filter((source) => source.endsWith('functions/index.ts'))).toHaveLength(1);

    expect(result.files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['host.json', 'package.json', 'index.js', 'index.js.map']),
    );
    expect(result.totalBytes).toBe(result.files.reduce((sum, f) => sum + f.bytes, 0));
  });

  it('needs no node_modules: every module a file requires is built in, host-supplied or shipped in the package', () => {
    const missing: string[] = [];
    for (const file of result.files.filter((f) => f.path.endsWith('.js'))) {
      const code = readFileSync(join(outDir, file.path), 'utf8');
      for (const [, name] of code.matchAll(/\b(?:require|import)\("([^"]+)"\)/g)) {
        const ok = name!.startsWith('./')
          ? existsSync(join(outDir, name!))
          : isBuiltin(name!) || EXTERNAL_MODULES.includes(name!);
        if (!ok) missing.push(`${file.path}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('keeps the heavy SDKs out of the start-up bundle, in separate files that load on their own', () => {
    expect(result.inlinedLazyPackages).toEqual([]);
    const bundle = readFileSync(join(outDir, 'index.js'), 'utf8');
    for (const chunk of Object.values(LAZY_CHUNKS)) expect(bundle).toContain(`require("./${chunk.file}")`);

    const child = runNode(
      `const { DefaultAzureCredential } = require('./identity.js');
       const { ServiceBusClient } = require('./service-bus.js');
       const client = new ServiceBusClient('Endpoint=sb://localhost/;SharedAccessKeyName=k;SharedAccessKey=v');
       client.close().then(() => console.log(typeof DefaultAzureCredential, client.fullyQualifiedNamespace));`,
      outDir,
    );
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('function localhost');
  });

  it('builds a chunk with only the exports the sources take from it, and each of them is there', () => {
    const sources = ['functions', 'shared'].flatMap((dir) => tsFiles(join(ROOT, dir)));
    for (const [name, { file, exports }] of Object.entries(LAZY_CHUNKS)) {
      if (exports === undefined) continue;
      const taken = new Set<string>();
      const escaped = name.replace(/[/.-]/g, '\\$&');
      const destructured = new RegExp(`\\{([^{}]*)\\}\\s*=\\s*await import\\(['"]${escaped}['"]\\)`, 'g');
      const anyImport = new RegExp(`import\\(['"]${escaped}['"]\\)`, 'g');
      for (const path of sources) {
        const text = readFileSync(path, 'utf8');
        const matches = [...text.matchAll(destructured)];
        // Every dynamic import of the package names what it takes (a namespace import could reach anything).
        expect({ path, imports: matches.length }).toEqual({ path, imports: [...text.matchAll(anyImport)].length });
        for (const match of matches)
          for (const binding of match[1]!.split(',')) taken.add(binding.split(':')[0]!.trim());
      }
      expect(taken.size).toBeGreaterThan(0);
      expect([...taken].filter((binding) => !exports.includes(binding))).toEqual([]);
      const child = runNode(
        `const m = require('./${file}'); console.log(${JSON.stringify(exports)}.map((n) => typeof m[n]).join());`,
        outDir,
      );
      expect(child.stdout.trim()).toBe(exports.map(() => 'function').join());
    }
  });

  it('keeps the OpenTelemetry SDK out of the start-up bundle: telemetry.js loads only when an exporter is set', () => {
    const bundle = readFileSync(join(outDir, 'index.js'), 'utf8');
    expect(bundle).not.toMatch(/@opentelemetry|BasicTracerProvider|MeterProvider/);
    expect(bundle).toContain('require("./telemetry.js")');
    const child = runNode(
      `const sdk = require('./telemetry.js');
       const t = sdk.telemetryFor({ kind: 'console' });
       t.inSpan('probe', {}, async (span) => span.telemetry.carrier()).then((c) => console.log(/^00-[0-9a-f]{32}-/.test(c.traceparent)));`,
      outDir,
    );
    expect(child.stderr).toBe('');
    expect(child.stdout.trim().split('\n').pop()).toBe('true');
  });

  it('loads outside the Functions host with an empty environment: test mode, nothing registered, exit 0', () => {
    const child = runNode(`require('./index.js'); console.log('loaded');`, outDir);
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe('loaded');
    expect(child.stderr).toContain('Failed to detect the Azure Functions runtime');
    expect(child.stderr).toContain('Skipping call to register function "backendChanges"');
  });

  it('registers every function of the registration list with the host and answers a first request', async () => {
    const expected = functionRegistrations(() => {
      throw new Error('services are not created at registration');
    }).map((fn) => fn.name);

    const startup = await measureStartup(outDir, { signal: AbortSignal.timeout(15_000) });

    expect(startup).toMatchObject({ ok: true, registered: expected, firstResponseStatus: 415 });
  });

  it('refuses an output directory that holds anything a build does not write, and deletes nothing there', async () => {
    await expect(buildPackage({ outDir: join(ROOT, 'functions') })).rejects.toThrow(
      /Refusing to empty .*functions: it holds .*\.ts/,
    );
    expect(existsSync(join(ROOT, 'functions', 'index.ts'))).toBe(true);
  });
});
