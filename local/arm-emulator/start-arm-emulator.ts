import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { parseResourceId } from '../../shared/domain/backend-id';
import { armError, defaultErrorCode, type EmulatorResponse } from './arm-error';
import { ArmThrottle } from './arm-throttle';
import { BackendStore } from './backend-store';
import { runOperation, type OperationSettings, type RequestBody } from './backend-operations';
import { generateLoopbackCertificate } from './certificate';
import { describeFault, FaultQueue } from './fault-queue';
import { checkApiVersion, checkAuthorization, checkPathParameters, checkWorkspaceApiVersion } from './request-checks';
import { decodeSegments, matchRoute } from './route';
import type { ArmEmulator, ArmEmulatorOptions, FaultSpec, RequestLogEntry } from './types';
import { systemClock } from '../../shared/adapters/system-clock';

/** ARM refuses request bodies above 4 MiB. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Starts an HTTPS server on 127.0.0.1 that answers the Azure Resource Manager API Management backend operations
 * (service and workspace scope) the way the reference pages, examples and Swagger describe, with optional ARM
 * throttling and injectable faults. Trust `caCertPem` in the client; TLS verification stays on.
 */
export async function startArmEmulator(options: ArmEmulatorOptions = {}): Promise<ArmEmulator> {
  const token = options.token ?? 'emulator-token';
  const pageSize = options.pageSize ?? 2;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be a positive integer');
  const settings: OperationSettings = { pageSize, requireIfMatchOnDelete: options.requireIfMatchOnDelete ?? false };
  const logRequests = options.logRequests ?? true;
  const now = options.now ?? Date.now;

  const store = new BackendStore();
  const faults = new FaultQueue();
  // Always present: every answer reports the remaining budgets as ARM's do; only configured buckets refuse.
  const throttle = new ArmThrottle(options.throttle ?? {}, now);
  const requests: RequestLogEntry[] = [];
  const stopping = new AbortController();
  const sockets = new Set<Socket>();
  let baseUrl = '';

  const seedBackend = (id: string, properties: Record<string, unknown>): void => {
    const parsed = parseResourceId(id);
    if (parsed?.kind !== 'backend') throw new TypeError(`not a backend ARM id: ${id}`);
    store.put(parsed.target, structuredClone(properties));
  };
  for (const item of options.seed ?? []) seedBackend(item.id, item.properties);

  const tls = await generateLoopbackCertificate();

  /** Authentication, api-version, throttling, routing and the operation itself. */
  const answer = (
    method: string,
    rawPath: string,
    query: URLSearchParams,
    req: IncomingMessage,
    body: RequestBody,
  ): EmulatorResponse => {
    const denied = checkAuthorization(req.headers.authorization, token);
    if (denied) return denied;
    const version = checkApiVersion(query.get('api-version'));
    if (!version.ok) return version.error;
    const segments = decodeSegments(rawPath);
    const route = segments ? matchRoute(segments) : ({ kind: 'unknown' } as const);

    let rateHeaders: Record<string, string> = {};
    if (route.kind !== 'unknown') {
      const subscriptionId = route.kind === 'collection' ? route.scope.subscriptionId : route.target.subscriptionId;
      const decision = throttle.take(subscriptionId, method);
      rateHeaders = decision.headers;
      if (decision.refused) {
        const { kind, retryAfterSeconds } = decision.refused;
        const refused = armError(
          429,
          'TooManyRequests',
          `Number of '${kind === 'reads' ? 'read' : kind === 'deletes' ? 'delete' : 'write'}' requests for ` +
            `subscription '${subscriptionId}' exceeded. Please try again after '${retryAfterSeconds}' seconds ` +
            'after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.',
        );
        Object.assign(refused.headers, rateHeaders, { 'Retry-After': String(retryAfterSeconds) });
        return refused;
      }
    }
    const response = routeAndRun(method, route, query, req, body, version.apiVersion);
    Object.assign(response.headers, rateHeaders);
    return response;
  };

  const routeAndRun = (
    method: string,
    route: ReturnType<typeof matchRoute>,
    query: URLSearchParams,
    req: IncomingMessage,
    body: RequestBody,
    apiVersion: string,
  ): EmulatorResponse => {
    if (route.kind === 'unknown') {
      return armError(404, 'NotFound', 'No HTTP resource was found that matches the request URI.');
    }
    const scope = route.kind === 'collection' ? route.scope : route.target;
    const invalid = checkPathParameters(scope) ?? checkWorkspaceApiVersion(scope, apiVersion);
    if (invalid) return invalid;
    const ifMatch = req.headers['if-match'];
    return runOperation({ method, route, query, ifMatch, body, baseUrl }, store, settings);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const time = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
    const segments = decodeSegments(rawPath);
    const path = segments ? `/${segments.join('/')}` : rawPath;

    let entry: RequestLogEntry | undefined;
    if (logRequests) {
      entry = { method, path, status: 0, time };
      const apiVersion = query.get('api-version');
      if (apiVersion !== null) entry.apiVersion = apiVersion;
      const ifMatch = req.headers['if-match'];
      if (ifMatch !== undefined) entry.ifMatch = ifMatch;
      requests.push(entry);
    }

    const text = await readBody(req);
    if (text === undefined) {
      // Too large (ARM's limit) or the client went away: nothing sensible to apply.
      send(req, res, armError(413, 'RequestEntityTooLarge', 'The request content exceeds 4 MiB.'), method, entry);
      return;
    }
    const body = parseBody(text);
    if (entry && body.kind !== 'empty') entry.body = body.kind === 'json' ? body.value : text;

    const fault = faults.take(method, path);
    if (fault && entry) entry.fault = describeFault(fault);
    if (fault?.delayMs !== undefined && fault.delayMs > 0) {
      try {
        await systemClock.sleep(fault.delayMs, stopping.signal);
      } catch {
        req.socket.destroy();
        return;
      }
    }
    if (fault?.reset === 'before') {
      req.socket.destroy();
      return;
    }
    if (fault?.status !== undefined && fault.apply !== true) {
      // Real ARM reports the remaining budget on its errors too (recorded on a 422).
      const failed = faultResponse(fault);
      const route = segments ? matchRoute(segments) : ({ kind: 'unknown' } as const);
      if (route.kind !== 'unknown') {
        const sub = route.kind === 'collection' ? route.scope.subscriptionId : route.target.subscriptionId;
        Object.assign(failed.headers, throttle.peek(sub, method), { ...failed.headers });
      }
      send(req, res, failed, method, entry);
      return;
    }
    const response = answer(method, rawPath, query, req, body);
    if (fault?.status !== undefined) {
      // Applied, then answered with the fault (the resource provider's 422 Timeout after the write went through).
      const failed = faultResponse(fault);
      send(
        req,
        res,
        { ...failed, headers: { ...pick(response.headers, RATE_LIMIT_HEADER), ...failed.headers } },
        method,
        entry,
      );
      return;
    }
    if (fault?.reset === 'after') {
      req.socket.destroy();
      return;
    }
    send(req, res, response, method, entry);
  };

  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    onRequest(req, res).catch(() => {
      // A handler bug must not take the emulator down; the client sees a reset.
      req.socket.destroy();
    });
  });
  // Clients reuse connections; keep idle ones around a little longer than typical client pools expect.
  server.keepAliveTimeout = 10_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `https://127.0.0.1:${port}`;

  let stopped: Promise<void> | undefined;
  return {
    url: baseUrl,
    caCertPem: tls.cert,
    token,
    requests,
    injectFault: (fault: FaultSpec) => faults.add(fault),
    clearFaults: () => faults.clear(),
    reset: () => {
      store.clear();
      faults.clear();
      requests.length = 0;
      throttle.reset();
    },
    getBackend: (id: string) => store.get(id),
    putBackend: seedBackend,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        stopping.abort(new Error('emulator stopped'));
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return stopped;
    },
  };
}

function parseBody(text: string): RequestBody {
  if (text.trim() === '') return { kind: 'empty' };
  try {
    return { kind: 'json', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'invalid' };
  }
}

/** Reads the whole body as UTF-8; undefined when it exceeds the limit or the request is aborted. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.once('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.once('error', () => resolve(undefined));
    req.once('close', () => {
      if (!req.complete) resolve(undefined);
    });
  });
}

const RATE_LIMIT_HEADER = /^x-ms-ratelimit-/i;

function pick(headers: Record<string, string>, name: RegExp): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([key]) => name.test(key)));
}

/** Recorded text of the resource provider's 422s. */
const FAULT_MESSAGES: Record<string, string> = {
  Timeout: 'Call to Management API smapi.emulator.local:443 timed out for the service.',
  ManagementApiRequestFailed: 'Request to the Management API failed.',
};

function faultResponse(fault: FaultSpec): EmulatorResponse {
  const status = fault.status ?? 500;
  const code = fault.code ?? defaultErrorCode(status);
  const response = armError(status, code, FAULT_MESSAGES[code] ?? `Injected fault: ${code}.`);
  if (fault.retryAfter !== undefined) response.headers['Retry-After'] = fault.retryAfter;
  if (fault.retryAfterMs !== undefined) response.headers['retry-after-ms'] = String(fault.retryAfterMs);
  return response;
}

/** Writes the response with ARM's request-id headers; HEAD and 204 carry no body. */
function send(
  req: IncomingMessage,
  res: ServerResponse,
  response: EmulatorResponse,
  method: string,
  entry: RequestLogEntry | undefined,
): void {
  if (entry) entry.status = response.status;
  if (res.destroyed || res.headersSent) return;
  const correlation = req.headers['x-ms-correlation-request-id'];
  const headers: Record<string, string> = {
    'x-ms-request-id': randomUUID(),
    'x-ms-correlation-request-id': typeof correlation === 'string' && correlation !== '' ? correlation : randomUUID(),
    ...response.headers,
  };
  const noBody = method === 'HEAD' || response.status === 204 || response.status === 304;
  if (noBody || response.body === undefined) {
    if (!noBody) headers['Content-Length'] = '0';
    res.writeHead(response.status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(response.body);
  headers['Content-Type'] = 'application/json; charset=utf-8';
  headers['Content-Length'] = String(Buffer.byteLength(text));
  res.writeHead(response.status, headers);
  res.end(text);
}
