/**
 * One cold start of a built package, measured in a fresh `node` process that stands in for the Functions worker.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { BUNDLE_FILE } from './build-package';

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
