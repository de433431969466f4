/**
 * `OTEL_TRACES_EXPORTER=console npm start` prints the spans of a local change (README, Observability): the real
 * entry point (local/start.ts) in a child process, one async change posted, its spans read from stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
let child: ChildProcess | undefined;
let output = '';

afterAll(async () => {
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child!.once('exit', resolve));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
  clearTimeout(timer);
  if (child.exitCode === null) child.kill('SIGKILL');
});

async function waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const match = output.match(pattern);
    if (match !== null) return match;
    if (Date.now() > until || child?.exitCode !== null) {
      throw new Error(`no ${String(pattern)} in the output:\n${output.slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('prints the spans of an async change, from the HTTP call through the queue to the published event', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', OTEL_TRACES_EXPORTER: 'console' };
  // Nothing else may pick an exporter or point the runtime elsewhere.
  for (const name of ['APPLICATIONINSIGHTS_CONNECTION_STRING', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'ARM_ENDPOINT']) {
    delete env[name];
  }
  child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], { cwd: ROOT, env });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [url] = await waitForOutput(/http:\/\/127\.0\.0\.1:\d+\/api\/backend-changes/, 60_000);

  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      prefer: 'respond-async',
      traceparent: '00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    },
    body: JSON.stringify({
      requestId: 'console-spans-1',
      operation: 'createOrUpdate',
      target:
        '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1/backends/console-spans',
      body: { properties: { url: 'https://backend.example/', protocol: 'http' } },
    }),
  });
  expect(response.status).toBe(202);

  // ConsoleSpanExporter prints each span as an object; the last one of this trace is the queue trigger's.
  await waitForOutput(/name: 'processBackendChange'/, 30_000);
  for (const name of ['backendChanges', 'enqueue change requests', 'change', 'ARM PUT', 'publish result']) {
    expect(output).toContain(`name: '${name}'`);
  }
  expect(output).toContain("traceId: '5bf92f3577b34da6a3ce929d0e0e4736'");
}, 120_000);
