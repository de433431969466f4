/**
 * A lean HTTPS `HttpClient` for core-rest-pipeline, on `https.request` and one keep-alive agent.
 *
 * core-rest-pipeline's default Node client is general (streams, progress callbacks, decompression, proxies) and pays
 * for it on every request: its own AbortController and listeners, a URL parse, header conversions, a promise per
 * stream clean-up. The ARM client sends small JSON strings and reads small JSON answers, so this client does only
 * that, with one timer and at most one abort listener per request. Certificate verification is Node's default (on);
 * nothing here can turn it off.
 *
 * Differences from the default client, on purpose:
 * - `request.timeout` bounds the WHOLE exchange (headers and body), not only the wait for headers, and its expiry
 *   rejects with a `RestError` whose code is {@link REQUEST_TIMEOUT_CODE}, so a caller can tell its own timeout apart
 *   from the operating system's ETIMEDOUT;
 * - a connection that fails while the answer's body is being read rejects with the socket's code (ECONNRESET), not
 *   with PARSE_ERROR: the request may have been applied, and the retry rules must see a network failure;
 * - only string and Buffer bodies; no streamed bodies or answers, progress callbacks, decompression or proxy (the ARM
 *   client's pipeline asks for none of these; an unsupported request is refused, never silently mis-sent).
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { AbortError } from '@azure/abort-controller';
import {
  createHttpHeaders,
  RestError,
  type HttpClient,
  type HttpHeaders,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';

/** The `code` of the `RestError` a request rejects with when `request.timeout` elapses before the answer is read. */
export const REQUEST_TIMEOUT_CODE = 'RequestTimeout';

/** How to build the client. */
export interface NodeHttpsClientOptions {
  /**
   * The agent for requests that carry none (`request.agent` wins when a policy sets one). Default: a keep-alive
   * agent of this client, trusting the system's roots.
   */
  agent?: Agent;
}

/** An `HttpClient` that can also close its idle connections. */
export interface NodeHttpsClient extends HttpClient {
  /** Destroys the connections of the client's own agent (a caller's `options.agent` is the caller's to close). */
  close(): void;
}

/** Where one origin's requests go, parsed once per origin rather than once per request. */
interface Origin {
  /** `https://host[:port]` exactly as the request URLs start. */
  prefix: string;
  hostname: string;
  port: string;
}

/** Characters a path and query may carry as-is: none that `URL` would escape (it escapes `'` in a query). */
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&()*+,;=:@%/?]*$/;

/** True when `URL` would leave `path` (with its query) exactly as it is: plain characters, no dot segments. */
function isPlainPath(path: string): boolean {
  return PLAIN_PATH.test(path) && !path.includes('/.') && !/%2e/i.test(path) && !path.endsWith('?');
}

function networkError(error: Error & { code?: unknown }, request: PipelineRequest): RestError {
  const code = typeof error.code === 'string' && error.code !== '' ? error.code : RestError.REQUEST_SEND_ERROR;
  return new RestError(error.message, { code, request });
}

/** The timer callback of an exchange (a module function with the exchange as argument: no closure per request). */
function timeOut(exchange: Exchange): void {
  exchange.timeOut();
}

/**
 * One request in flight. It settles its promise once: the first of answer, failure, timeout and abort wins, and
 * the others find nothing to do. One object per request instead of a closure per step.
 */
class Exchange {
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private onAbort: (() => void) | undefined;
  private req: ClientRequest | undefined;
  private readonly chunks: Buffer[] = [];
  private status = 0;
  private headers: HttpHeaders | undefined;

  constructor(
    private readonly request: PipelineRequest,
    private readonly resolve: (response: PipelineResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  /** Sends the request (with `body`, a string or Buffer, when there is one) and arms the timeout and abort. */
  start(options: RequestOptions, body: string | Buffer | undefined): void {
    const req = httpsRequest(options, (res: IncomingMessage) => this.answer(res));
    this.req = req;
    // Also the sink of the "socket hang up" that destroying an unanswered request emits.
    req.on('error', (error: Error) => this.fail(networkError(error, this.request)));
    const { abortSignal, timeout } = this.request;
    if (abortSignal !== undefined) {
      this.onAbort = () => this.abort();
      abortSignal.addEventListener('abort', this.onAbort, { once: true });
    }
    if (timeout > 0) this.timer = setTimeout(timeOut, timeout, this);
    if (body === undefined) req.end();
    else req.end(body);
  }

  timeOut(): void {
    const { request } = this;
    this.fail(
      new RestError(`No complete answer within ${request.timeout} ms.`, { code: REQUEST_TIMEOUT_CODE, request }),
    );
    this.req?.destroy();
  }

  private abort(): void {
    this.fail(new AbortError('The operation was aborted.'));
    this.req?.destroy();
  }

  private answer(res: IncomingMessage): void {
    const headers = createHttpHeaders();
    const raw = res.headers;
    for (const name in raw) {
      const value = raw[name];
      // As the default client: a repeated header (set-cookie) keeps its first value.
      if (Array.isArray(value)) {
        if (value.length > 0) headers.set(name, value[0]!);
      } else if (value !== undefined && value !== '') headers.set(name, value);
    }
    this.status = res.statusCode ?? 0;
    if (this.request.method === 'HEAD') {
      res.resume();
      if (this.finish()) this.resolve({ status: this.status, headers, request: this.request });
      return;
    }
    this.headers = headers;
    res.on('data', (chunk: Buffer) => void this.chunks.push(chunk));
    res.on('end', () => this.end());
    // The connection failed mid-answer (Node reports ECONNRESET "aborted"): the request may have been applied.
    res.on('error', (error: Error) => this.fail(networkError(error, this.request)));
  }

  private end(): void {
    if (!this.finish()) return;
    const { chunks } = this;
    const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    this.resolve({ status: this.status, headers: this.headers!, request: this.request, bodyAsText: text });
  }

  private fail(error: Error): void {
    if (this.finish()) this.reject(error);
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onAbort !== undefined) this.request.abortSignal?.removeEventListener('abort', this.onAbort);
    return true;
  }
}

/**
 * Creates the lean client. One client owns one keep-alive agent (unless `options.agent` is given): create it once
 * and share it, so connections are reused.
 *
 * @example
 * const httpClient = createNodeHttpsClient();
 * const response = await pipeline.sendRequest(httpClient, createPipelineRequest({ url, timeout: 30_000 }));
 */
export function createNodeHttpsClient(options: NodeHttpsClientOptions = {}): NodeHttpsClient {
  const ownAgent = options.agent === undefined ? new Agent({ keepAlive: true }) : undefined;
  const defaultAgent = options.agent ?? ownAgent!;
  // The last origin seen: every ARM request goes to the same one, so its parse is reused.
  let origin: Origin | undefined;

  /** The path with query of `url`, after pointing `origin` at its origin; throws for anything but https. */
  const locate = (url: string): string => {
    if (origin !== undefined && url.startsWith(origin.prefix)) {
      const path = url.slice(origin.prefix.length);
      if (isPlainPath(path)) return path;
    }
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:') {
      throw new RestError(`Cannot connect to ${parsed.origin}: only https is supported.`, {
        code: RestError.REQUEST_SEND_ERROR,
      });
    }
    // Brackets off an IPv6 literal: https.request wants the bare address.
    const hostname = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
    origin = { prefix: parsed.origin, hostname, port: parsed.port };
    return `${parsed.pathname}${parsed.search}`;
  };

  const sendRequest = (request: PipelineRequest): Promise<PipelineResponse> =>
    new Promise<PipelineResponse>((resolve, reject) => {
      const { abortSignal, body } = request;
      if (abortSignal?.aborted) {
        reject(new AbortError('The operation was aborted. Request has already been canceled.'));
        return;
      }
      if (body !== undefined && body !== null && typeof body !== 'string' && !Buffer.isBuffer(body)) {
        reject(new RestError('Only string and Buffer request bodies are supported.', { request }));
        return;
      }
      const path = locate(request.url);
      const { hostname, port } = origin!;
      new Exchange(request, resolve, reject).start(
        {
          // core-rest-pipeline types `agent` structurally; on Node it is an https.Agent (tls-trust-policy's).
          agent: (request.agent as Agent | undefined) ?? defaultAgent,
          hostname,
          port,
          path,
          method: request.method,
          headers: request.headers.toJSON(),
        },
        body ?? undefined,
      );
    });

  return {
    sendRequest,
    close: () => ownAgent?.destroy(),
  };
}
