/**
 * Starts Azurite's Table service as a child process on a free loopback port, in memory, for local runs and tests.
 *
 * The child must never outlive its parent: `stop()` ends it, a parent `exit` handler kills it, and — for the case
 * no handler can cover (the parent is SIGKILLed or crashes hard) — the child runs behind a tiny bootstrap that exits
 * as soon as its stdin pipe from the parent closes, which the OS does when the parent dies for any reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';

/** The well-known Azurite development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** A running Azurite Table service. */
export interface Azurite {
  /** A full storage connection string for the dev account, with only a `TableEndpoint`. */
  connectionString: string;
  /** The account's table endpoint, e.g. `http://127.0.0.1:51234/devstoreaccount1`. */
  tableUrl: string;
  /** Ends the child process (SIGTERM, then SIGKILL after 5 s); resolves when it has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface StartAzuriteOptions {
  /** How long to wait for the service to accept connections, per start attempt. Default 20 s. */
  startTimeoutMs?: number;
  /** Aborts the start (the child is killed). */
  signal?: AbortSignal;
}

const HOST = '127.0.0.1';
const PORT_ATTEMPTS = 5;
const OUTPUT_TAIL_CHARS = 4000;
const STOP_GRACE_MS = 5000;
/** What azurite-table prints once its server listens (also with --silent, which only silences the access log). */
const STARTED_MESSAGE = 'Azurite Table service successfully started';

/**
 * Runs the real entry point with the given argv, and exits when the parent's end of stdin closes (parent died).
 * `node -e CODE a b` puts `a b` at argv[1..]; azurite's argument parser expects `[node, script, ...flags]`.
 */
const BOOTSTRAP = [
  'const [script, ...rest] = process.argv.slice(1);',
  'process.argv = [process.argv[0], script, ...rest];',
  "process.stdin.on('end', () => process.exit(0));",
  "process.stdin.on('error', () => process.exit(0));",
  'process.stdin.resume();',
  'require(script);',
].join('\n');

/**
 * Starts Azurite's Table service (`azurite-table`) with `--silent --inMemoryPersistence --disableTelemetry` on a
 * free port of 127.0.0.1 and waits until it accepts connections. Rejects with the child's output when it exits
 * early or does not come up within `startTimeoutMs`. A port taken between probing and binding is retried on another.
 */
export async function startAzurite(options: StartAzuriteOptions = {}): Promise<Azurite> {
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const script = require.resolve('azurite/dist/src/table/main.js');
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    options.signal?.throwIfAborted();
    const port = await findFreePort();
    try {
      return await startOnPort(script, port, startTimeoutMs, options.signal);
    } catch (error) {
      lastError = error as Error;
      if (!(error instanceof PortInUseError)) throw error;
    }
  }
  throw new Error(`Azurite could not bind a free port after ${PORT_ATTEMPTS} attempts: ${lastError?.message ?? ''}`);
}

class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

/** A port the OS considers free right now (it may be taken again before Azurite binds it; the caller retries). */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

async function startOnPort(script: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Azurite> {
  const args = [
    '-e',
    BOOTSTRAP,
    script,
    '--silent',
    '--inMemoryPersistence',
    '--disableTelemetry',
    '--tableHost',
    HOST,
    '--tablePort',
    String(port),
  ];
  // Azurite checks its location (the cwd by default) even in memory; keep the repo out of it. In memory and without
  // telemetry it writes nothing there.
  const child = spawn(process.execPath, args, { cwd: tmpdir(), stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  let output = '';
  let started = false;
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    started ||= output.includes(STARTED_MESSAGE);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // Never let a broken stdin pipe (child already gone) crash the parent.
  child.stdin?.on('error', () => undefined);

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnParentExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnParentExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', killOnParentExit);
      await terminate(child, exited);
    })();
    return stopping;
  };

  try {
    await waitUntilListening(
      child,
      exited,
      port,
      timeoutMs,
      () => output,
      () => started,
      signal,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const tableUrl = `http://${HOST}:${port}/${AZURITE_ACCOUNT_NAME}`;
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};` +
    `TableEndpoint=${tableUrl};`;
  return { connectionString, tableUrl, stop };
}

/**
 * Waits for Azurite's own "started" message, then for a TCP connect to succeed; fails on child exit, timeout or
 * abort. The message matters: if another process took the port, a connect alone would reach that process.
 */
async function waitUntilListening(
  child: ChildProcess,
  exited: Promise<void>,
  port: number,
  timeoutMs: number,
  output: () => string,
  started: () => boolean,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  for (;;) {
    signal?.throwIfAborted();
    if (hasExited || child.exitCode !== null) {
      const text = output();
      if (/EADDRINUSE/.test(text)) throw new PortInUseError(`port ${port} is in use`);
      throw new Error(`Azurite exited before it started (code ${String(child.exitCode)}): ${text.trim()}`);
    }
    if (started() && (await canConnect(port))) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `Azurite did not accept connections on ${HOST}:${port} within ${timeoutMs} ms: ${output().trim()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** SIGTERM, then SIGKILL if the child has not exited within the grace period. */
async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin?.end();
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS);
  });
  const result = await Promise.race([exited.then(() => 'exited' as const), grace]);
  clearTimeout(timer);
  if (result === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}
