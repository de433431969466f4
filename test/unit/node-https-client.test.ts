/**
 * The lean HTTPS client against a local HTTPS server with a self-signed certificate (verification on).
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext, rootCertificates } from 'node:tls';
import { createHttpHeaders, createPipelineRequest, isRestError, type PipelineRequest } from '@azure/core-rest-pipeline';
import { generateLoopbackCertificate } from '../../local/arm-emulator/certificate';
import {
  createNodeHttpsClient,
  REQUEST_TIMEOUT_CODE,
  type NodeHttpsClient,
} from '../../shared/adapters/arm/node-https-client';
import { transientCodeOf } from '../../shared/adapters/arm/retry-strategy';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  socket: Socket;
}

type Handler = (req: IncomingMessage, res: ServerResponse, seen: Seen) => void;

let server: Server;
let base: string;
let caCertPem: string;
let handler: Handler;
const seen: Seen[] = [];
const sockets = new Set<Socket>();
let agent: Agent;
let client: NodeHttpsClient;

beforeAll(async () => {
  const tls = await generateLoopbackCertificate();
  caCertPem = tls.cert;
  server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const entry: Seen = { method: req.method!, url: req.url!, headers: req.headers, body, socket: req.socket };
      seen.push(entry);
      handler(req, res, entry);
    });
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  agent = new Agent({ keepAlive: true, secureContext: createSecureContext({ ca: [...rootCertificates, caCertPem] }) });
  client = createNodeHttpsClient({ agent });
});

afterAll(async () => {
  client.close();
  agent.destroy();
  for (const socket of sockets) socket.destroy();
  server.close();
  await once(server, 'close');
});

beforeEach(() => {
  seen.length = 0;
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', etag: '"e1"' });
    res.end('{"ok":true}');
  };
});

function request(
  path: string,
  options: Partial<Pick<PipelineRequest, 'method' | 'body' | 'timeout' | 'abortSignal'>> & {
    headers?: Record<string, string>;
  } = {},
): PipelineRequest {
  const { headers, ...rest } = options;
  return createPipelineRequest({ url: `${base}${path}`, headers: createHttpHeaders(headers), ...rest });
}

/** The rejection of `promise` (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

it('sends method, path with query, headers and body; answers status, headers and body text', async () => {
  handler = (_req, res) => {
    res.writeHead(201, { 'content-type': 'application/json', etag: '"e2"', 'x-ms-request-id': 'r-1' });
    res.end('{"name":"b1"}');
  };
  const response = await client.sendRequest(
    request('/backends/b1?api-version=2024-05-01', {
      method: 'PUT',
      body: '{"properties":{"url":"https://x"}}',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
    }),
  );
  expect(response.status).toBe(201);
  expect(response.headers.get('ETag')).toBe('"e2"');
  expect(response.headers.get('x-ms-request-id')).toBe('r-1');
  expect(response.bodyAsText).toBe('{"name":"b1"}');
  expect(seen[0]).toMatchObject({
    method: 'PUT',
    url: '/backends/b1?api-version=2024-05-01',
    body: '{"properties":{"url":"https://x"}}',
  });
  expect(seen[0]!.headers).toMatchObject({
    authorization: 'Bearer t',
    'content-type': 'application/json',
    'content-length': '34',
    host: base.slice('https://'.length),
  });
});

it('decodes a multi-byte body split across chunks', async () => {
  const text = JSON.stringify({ description: 'é'.repeat(40_000) });
  handler = (_req, res) => {
    const bytes = Buffer.from(text);
    res.writeHead(200, { 'content-length': String(bytes.length) });
    res.write(bytes.subarray(0, 1)); // splits the first 'é' across chunks
    setTimeout(() => res.end(bytes.subarray(1)), 5);
  };
  const response = await client.sendRequest(request('/big'));
  expect(response.bodyAsText).toBe(text);
});

it('reuses one keep-alive connection for requests in sequence', async () => {
  await client.sendRequest(request('/a'));
  await client.sendRequest(request('/b'));
  await client.sendRequest(request('/c', { method: 'PUT', body: '{}' }));
  expect(seen).toHaveLength(3);
  expect(new Set(seen.map((s) => s.socket)).size).toBe(1);
});

it('answers HEAD with status and headers, without a body', async () => {
  const response = await client.sendRequest(request('/h', { method: 'HEAD' }));
  expect(response.status).toBe(200);
  expect(response.headers.get('etag')).toBe('"e1"');
  expect(response.bodyAsText).toBeUndefined();
});

it.each(['/a b/./c/../d?q=x y', '/a/%2E%2e/b', "/p?q='x'", '/p?'])('sends %s as URL normalises it', async (path) => {
  await client.sendRequest(request(path));
  const url = new URL(`${base}${path}`);
  expect(seen[0]!.url).toBe(`${url.pathname}${url.search}`);
});

it('rejects with RequestTimeout when no complete answer arrives within request.timeout, and drops the connection', async () => {
  handler = () => undefined; // never answers
  const started = Date.now();
  const error = await rejectionOf(client.sendRequest(request('/slow', { timeout: 100 })));
  expect(Date.now() - started).toBeLessThan(2000);
  expect(isRestError(error)).toBe(true);
  expect(error.code).toBe(REQUEST_TIMEOUT_CODE);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(seen[0]!.socket.destroyed).toBe(true);
});

it('the timeout covers the whole answer, not only its headers', async () => {
  handler = (_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('{"partial":'); // the rest never comes
  };
  const error = await rejectionOf(client.sendRequest(request('/trickle', { timeout: 150 })));
  expect(error.code).toBe(REQUEST_TIMEOUT_CODE);
});

it('ends at once with an AbortError when the signal aborts mid-flight', async () => {
  handler = () => undefined;
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 30);
  const started = Date.now();
  const error = await rejectionOf(client.sendRequest(request('/hang', { abortSignal: controller.signal })));
  expect(Date.now() - started).toBeLessThan(2000);
  expect(error.name).toBe('AbortError');
});

it('does not send when the signal is already aborted', async () => {
  const error = await rejectionOf(client.sendRequest(request('/never', { abortSignal: AbortSignal.abort() })));
  expect(error.name).toBe('AbortError');
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(seen).toHaveLength(0);
});

it('a connection reset before the answer is a RestError ECONNRESET, which the retry rules retry', async () => {
  handler = (req) => req.socket.destroy();
  const error = await rejectionOf(client.sendRequest(request('/reset', { method: 'PUT', body: '{}' })));
  expect(isRestError(error)).toBe(true);
  expect(error.code).toBe('ECONNRESET');
  expect(transientCodeOf({ kind: 'network', errorCode: error.code! })).toBe('UpstreamUnavailable');
});

it('a connection reset in the middle of the answer is ECONNRESET too (the request may have been applied)', async () => {
  handler = (req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('{"partial":');
    setTimeout(() => req.socket.destroy(), 20);
  };
  const error = await rejectionOf(client.sendRequest(request('/cut')));
  expect(isRestError(error)).toBe(true);
  expect(error.code).toBe('ECONNRESET');
});

it('keeps certificate verification on: a server outside the trusted roots is refused', async () => {
  const untrusting = createNodeHttpsClient();
  try {
    const error = await rejectionOf(untrusting.sendRequest(request('/x')));
    expect(isRestError(error)).toBe(true);
    expect(error.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    expect(seen).toHaveLength(0);
  } finally {
    untrusting.close();
  }
});

it('refuses a plain http URL', async () => {
  const plain = createPipelineRequest({ url: base.replace('https:', 'http:') + '/x' });
  const error = await rejectionOf(client.sendRequest(plain));
  expect(error.message).toContain('only https');
  expect(seen).toHaveLength(0);
});
