/**
 * The local runtime's own edges (issue 10, items 5 and 8): the admin API is protected by a master key and answers at
 * once; the body reader stops at MAX_BODY_BYTES instead of processing a prefix.
 */
import { request as httpRequest } from 'node:http';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime/runtime';

jest.setTimeout(60_000);

const SERVICE =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1';
let runtime: LocalRuntime;
beforeAll(async () => {
  runtime = await startLocalRuntime({
    port: 0,
    log: () => undefined,
    settings: { MAX_BODY_BYTES: '2048', CHANGE_DEADLINE_SECONDS: '30', PORT: undefined },
  });
});
afterAll(() => runtime?.stop());

const change = (backendId: string) =>
  JSON.stringify({
    operation: 'createOrUpdate',
    target: `${SERVICE}/backends/${backendId}`,
    body: { properties: { url: 'https://rt.example/', protocol: 'http' } },
  });
const puts = (backendId: string) =>
  runtime.emulator!.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/backends/${backendId}`)).length;

function admin(name: string, input: string, key?: string): Promise<Response> {
  return fetch(`${runtime.url}/admin/functions/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'x-functions-key': key }) },
    body: JSON.stringify({ input }),
  });
}

describe('the admin API (item 5)', () => {
  it('refuses a call without the master key (401) and applies nothing', async () => {
    expect((await admin('processBackendChange', change('adm-1'))).status).toBe(401);
    expect((await admin('processBackendChange', change('adm-1'), 'wrong-key')).status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(puts('adm-1')).toBe(0);
  });

  it('with the master key runs the function, and answers at once even when ARM keeps failing', async () => {
    const ok = await admin('processBackendChange', change('adm-2'), runtime.masterKey);
    expect(ok.status).toBe(202);
    for (let i = 0; i < 100 && puts('adm-2') === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(puts('adm-2')).toBe(1);

    runtime.emulator!.injectFault({ method: 'PUT', status: 429, retryAfter: '2', count: Infinity });
    try {
      const started = Date.now();
      const res = await admin('processBackendChange', change('adm-3'), runtime.masterKey);
      expect(res.status).toBe(202);
      // Answered after at most 5 s (the local runtime's admin wait), not after the change's 30 s deadline.
      expect(Date.now() - started).toBeLessThan(7000);
    } finally {
      runtime.emulator!.clearFaults();
    }
    // The background invocation goes on: once ARM recovers it applies the change.
    const created = () =>
      runtime.emulator!.requests.some(
        (r) => r.method === 'PUT' && r.path.endsWith('/backends/adm-3') && r.status === 201,
      );
    for (let i = 0; i < 200 && !created(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(
      runtime
        .emulator!.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/backends/adm-3'))
        .map((r) => r.status),
    ).toContain(201);
  });
});

/** Sends a raw request and resolves with the status (and whether the body had been fully written by then). */
function rawPost(
  headers: Record<string, string>,
  write: (req: ReturnType<typeof httpRequest>) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${runtime.url}/api/backend-changes`);
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close the connection after answering while we still write: the answer already came.
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    write(req);
  });
}

describe('the body reader (item 8, MAX_BODY_BYTES=2048)', () => {
  it('a chunked body over the limit is answered 413, never processed as its valid prefix', async () => {
    const valid = change('chunked-1');
    const status = await rawPost({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, (req) => {
      req.write(valid);
      // Padding after a complete JSON document: the prefix alone would be a valid change.
      for (let i = 0; i < 20; i++) req.write(' '.repeat(500));
      req.end();
    });
    expect(status).toBe(413);
    await new Promise((r) => setTimeout(r, 300));
    expect(puts('chunked-1')).toBe(0);
  });

  it('a declared Content-Length over the limit is answered 413 before the body is sent', async () => {
    const status = await rawPost({ 'content-type': 'application/json', 'content-length': '1000000' }, (req) => {
      req.flushHeaders(); // headers only: the answer must come without a byte of the body
    });
    expect(status).toBe(413);
  });
});
