/**
 * Row 3, cold start: process start → first change request applied and its event published, for the deployable
 * bundle; beside it, the time a process needs merely to import the conventional stack, and a bare `node -e 0`.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulatorStack } from '../local/emulator-stack';
import { BUNDLE_FILE, buildPackage } from '../scripts/build-package';
import { ROOT } from './child-emulator';
import { COLD_START_PROBE } from './cold-start-probe';
import { median, round } from './stats';
import { benchTarget, benchBody } from './workload';

/** The packages a conventional implementation would import at start. */
export const CONVENTIONAL_STACK = [
  '@azure/functions',
  '@azure/identity',
  '@azure/service-bus',
  '@azure/arm-apimanagement',
] as const;

const TOPIC = 'backend-change-results';
const SUBSCRIPTION = `${TOPIC}/Subscriptions/all`;
const RUN_TIMEOUT_MS = 30_000;

/** What row 3 measured, ms per run. */
export interface ColdStartResult {
  runs: number;
  bundleBytes: number;
  /** Spawn → the handler's answer (the change applied, its event published and verified on the topic). */
  oursMs: number[];
  /** Inside the child: process start → functions registered, and → answered (performance.now()). */
  oursReadyInChildMs: number[];
  oursAnsweredInChildMs: number[];
  /**
   * Where the time of our runs goes, ms from spawn (medians): the child's clock origin, functions registered, the
   * ARM PUT arriving at the emulator, the result event enqueued at the broker, the answer read by the parent.
   */
  oursPhasesMs: {
    processOrigin: number;
    registered: number;
    armPutArrived: number;
    eventEnqueued: number;
    answered: number;
  };
  /**
   * The same first change with a managed identity instead of a static token: DefaultAzureCredential (the identity
   * chunk required on first use) fetching its token from a local endpoint speaking App Service's managed-identity
   * protocol (IDENTITY_ENDPOINT / IDENTITY_HEADER).
   */
  oursIdentityMs: number[];
  /** Token requests the local identity endpoint answered (one per identity run expected). */
  identityTokenRequests: number;
  /** Spawn → exit of `node -e "require(<conventional stack>)"`. */
  conventionalImportMs: number[];
  /** Spawn → exit of `node -e 0`. */
  nodeBaselineMs: number[];
  median: { ours: number; oursIdentity: number; conventionalImport: number; nodeBaseline: number };
  /** median(ours) / median(conventionalImport). */
  ratio: number;
  /** median(oursIdentity) / median(conventionalImport). */
  ratioIdentity: number;
}

/** The identity header value the local endpoint demands, as App Service's does. */
const IDENTITY_HEADER = 'bench-identity-header';

/**
 * A local managed-identity endpoint (App Service protocol, api-version 2019-08-01): `GET ?resource=…` with the
 * `X-IDENTITY-HEADER` header answers `{ access_token, expires_on, resource, token_type }`; the token is the
 * emulator's. Counts the token requests it answered.
 */
async function startIdentityEndpoint(
  token: string,
): Promise<{ url: string; served: () => number; stop: () => Promise<void> }> {
  let served = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.headers['x-identity-header'] !== IDENTITY_HEADER || !url.searchParams.has('resource')) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad_request"}');
      return;
    }
    served++;
    const expiresOn = Math.floor(Date.now() / 1000) + 3600;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        access_token: token,
        expires_on: String(expiresOn),
        resource: url.searchParams.get('resource'),
        token_type: 'Bearer',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/msi/token`,
    served: () => served,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Spawned {
  ms: number;
  stdout: string;
  /** Epoch ms at spawn. */
  spawnedAt: number;
}

/**
 * Spawns `node args` and resolves with the time from spawn until `until` is met: the process exits (`'exit'`), or
 * it has written a complete first line (`'line'`). Rejects on a non-zero exit or after 30 s.
 */
function timeNode(args: string[], env: NodeJS.ProcessEnv, until: 'exit' | 'line'): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const spawnedAt = Date.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let done = false;
    const timer = setTimeout(() => {
      child.kill();
      finish(new Error(`node ${args[0]} did not finish within ${RUN_TIMEOUT_MS} ms`));
    }, RUN_TIMEOUT_MS);
    const finish = (error: Error | undefined, ms = 0): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve({ ms, stdout, spawnedAt });
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (until === 'line' && stdout.includes('\n')) finish(undefined, performance.now() - started);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => finish(error));
    child.on('exit', (code) => {
      if (code !== 0) finish(new Error(`node exited with ${code}: ${stderr.trim().slice(0, 2000)}`));
      else finish(until === 'exit' ? undefined : new Error('exited without a line'), performance.now() - started);
    });
  });
}

/**
 * Builds the bundle into a temporary directory, starts an ARM emulator and an AMQP broker in this process, then
 * interleaves `runs` spawns of each: our bundle answering one createOrUpdate (a fresh backend each run), the
 * conventional import, and `node -e 0`. Every run's result event is checked on the topic subscription.
 */
export async function measureColdStart(runs: number): Promise<ColdStartResult> {
  const dir = mkdtempSync(join(tmpdir(), 'apim-bench-cold-'));
  const stack = await startEmulatorStack({
    arm: {},
    broker: { queues: [{ name: 'backend-change-requests' }], topics: [{ name: TOPIC, subscriptions: ['all'] }] },
  });
  const emulator = stack.emulator!;
  const broker = stack.broker!;
  const identity = await startIdentityEndpoint(emulator.token);
  try {
    const outDir = join(dir, 'dist-package');
    const pkg = await buildPackage({ outDir });
    const caFile = stack.settings['ARM_CA_CERT_FILE']!;
    const bare = { PATH: process.env['PATH'] ?? '' };
    const appEnv = {
      ...bare,
      ARM_ENDPOINT: emulator.url,
      ARM_ACCESS_TOKEN: emulator.token,
      ARM_CA_CERT_FILE: caFile,
      ServiceBusConnection: broker.connectionString,
    };
    // No static token: DefaultAzureCredential → managed identity (App Service style) → the local endpoint.
    const identityEnv = {
      ...bare,
      ARM_ENDPOINT: emulator.url,
      ARM_CA_CERT_FILE: caFile,
      ServiceBusConnection: broker.connectionString,
      IDENTITY_ENDPOINT: identity.url,
      IDENTITY_HEADER,
    };
    const importScript = CONVENTIONAL_STACK.map((name) => `require(${JSON.stringify(name)});`).join('');

    const result: Omit<ColdStartResult, 'median' | 'ratio' | 'ratioIdentity'> = {
      runs,
      bundleBytes: pkg.files.find((file) => file.path === BUNDLE_FILE)?.bytes ?? 0,
      oursMs: [],
      oursReadyInChildMs: [],
      oursAnsweredInChildMs: [],
      oursPhasesMs: { processOrigin: 0, registered: 0, armPutArrived: 0, eventEnqueued: 0, answered: 0 },
      oursIdentityMs: [],
      identityTokenRequests: 0,
      conventionalImportMs: [],
      nodeBaselineMs: [],
    };
    const phases: Array<ColdStartResult['oursPhasesMs']> = [];
    const firstChange = async (run: number, env: NodeJS.ProcessEnv, offset: number) => {
      const requestId = `cold-start-${offset}-${run}-${Date.now()}`;
      const index = offset + run;
      const change = {
        requestId,
        operation: 'createOrUpdate',
        target: benchTarget(index),
        body: benchBody(index, 'cold'),
      };
      const spawned = await timeNode(
        ['-e', COLD_START_PROBE, join(outDir, BUNDLE_FILE), JSON.stringify(change)],
        env,
        'line',
      );
      const line = JSON.parse(spawned.stdout.split('\n')[0]!) as {
        timeOrigin: number;
        readyMs: number;
        answeredMs: number;
        status: number;
        outcomeStatus: string;
      };
      if (line.status !== 201 || line.outcomeStatus !== 'succeeded') {
        throw new Error(`cold start run answered ${line.status} (${line.outcomeStatus})`);
      }
      const event = broker
        .messages(SUBSCRIPTION)
        .find((message) => (message.body as { data?: { requestId?: string } }).data?.requestId === requestId);
      if (event === undefined)
        throw new Error(`cold start run ${run}: no result event for ${requestId} on ${SUBSCRIPTION}`);
      const put = emulator.requests.find((entry) => entry.method === 'PUT' && entry.path.endsWith(`/bench-${index}`));
      return { spawned, line, event, put };
    };
    const ours = async (run: number): Promise<void> => {
      const { spawned, line, event, put } = await firstChange(run, appEnv, 900_000);
      phases.push({
        processOrigin: line.timeOrigin - spawned.spawnedAt,
        registered: line.timeOrigin + line.readyMs - spawned.spawnedAt,
        armPutArrived: (put?.time ?? Number.NaN) - spawned.spawnedAt,
        eventEnqueued: event.enqueuedTime.getTime() - spawned.spawnedAt,
        answered: spawned.ms,
      });
      result.oursMs.push(round(spawned.ms, 1));
      result.oursReadyInChildMs.push(round(line.readyMs, 1));
      result.oursAnsweredInChildMs.push(round(line.answeredMs, 1));
    };
    const oursIdentity = async (run: number): Promise<void> => {
      const { spawned } = await firstChange(run, identityEnv, 950_000);
      result.oursIdentityMs.push(round(spawned.ms, 1));
    };
    const conventional = async (): Promise<void> => {
      result.conventionalImportMs.push(round((await timeNode(['-e', importScript], bare, 'exit')).ms, 1));
    };
    const baseline = async (): Promise<void> => {
      result.nodeBaselineMs.push(round((await timeNode(['-e', '0'], bare, 'exit')).ms, 1));
    };

    // One unmeasured pass of each warms the file-system cache, as a warm deployment disk would be.
    await ours(-1);
    await oursIdentity(-1);
    await conventional();
    await baseline();
    result.oursMs.length = result.oursReadyInChildMs.length = result.oursAnsweredInChildMs.length = 0;
    result.oursIdentityMs.length = 0;
    result.conventionalImportMs.length = result.nodeBaselineMs.length = 0;
    phases.length = 0;
    const order = [ours, oursIdentity, conventional, baseline];
    for (let run = 0; run < runs; run++) {
      for (let k = 0; k < order.length; k++) await order[(run + k) % order.length]!(run);
    }
    const phase = (key: keyof ColdStartResult['oursPhasesMs']): number => round(median(phases.map((p) => p[key])), 1);
    result.oursPhasesMs = {
      processOrigin: phase('processOrigin'),
      registered: phase('registered'),
      armPutArrived: phase('armPutArrived'),
      eventEnqueued: phase('eventEnqueued'),
      answered: phase('answered'),
    };
    result.identityTokenRequests = identity.served();
    const m = {
      ours: round(median(result.oursMs), 1),
      oursIdentity: round(median(result.oursIdentityMs), 1),
      conventionalImport: round(median(result.conventionalImportMs), 1),
      nodeBaseline: round(median(result.nodeBaselineMs), 1),
    };
    return {
      ...result,
      median: m,
      ratio: round(m.ours / m.conventionalImport, 3),
      ratioIdentity: round(m.oursIdentity / m.conventionalImport, 3),
    };
  } finally {
    await identity.stop();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
