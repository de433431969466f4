/**
 * The ARM client for API Management backends: the operations, each a few lines over the steps it is built from.
 *
 * - `arm-pipeline.ts`: the send step (user agent, extra-CA agent, bearer token) of @azure/core-rest-pipeline;
 * - `attempt-timeout.ts`: one send, bounded by the per-attempt timeout and the caller's signal;
 * - `write-admission.ts`: a write waits for the process's write limiter, and every answer feeds it;
 * - `retry-policy.ts`: retries until the deadline and the attempt cap, decided by the pure `retry-strategy.ts`;
 * - write strategies, one per file (`write-on-caller-etag.ts`, `write-on-read-etag.ts`, `write-unconditional-put.ts`,
 *   `delete-backend.ts`): what to send, and how an unknown outcome is checked before a re-send;
 * - `arm-codec.ts` and `list-pages.ts`: the wire format, and pagination;
 * - `arm-call.ts`: the state of one call and the results it ends with; every failure is one `ArmError` (`arm-error.ts`).
 *
 * Caller abort: an aborted `signal` stops the call promptly (the in-flight request is cancelled, a pending wait ends)
 * and the call RESOLVES with `{ kind: 'transient', code: 'Timeout', error: { code: 'RequestAborted' } }` rather than
 * throwing — like every expected failure here, it is a value. A write aborted mid-flight has an unknown outcome, which
 * is exactly what a transient result tells the caller (re-apply later; the writes are idempotent in effect).
 */
import { randomUUID } from 'node:crypto';
import type { HttpClient } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/core-auth';
import type { ArmBackendClient, ArmClientLogger, ArmResult, BackendList, CallOptions } from '../../app/arm-ports';
import type { Clock } from '../../app/clock-ports';
import { backendCollectionPath, backendPath, type BackendScope, type BackendTarget } from '../../domain/backend-id';
import { DEFAULT_CHANGE_DEADLINE_SECONDS } from '../../config/settings';
import { systemClock } from '../system-clock';
import { CallState } from './arm-call';
import type { RequestSpec } from './arm-codec';
import type { ArmContext } from './arm-context';
import { isArmError } from './arm-error';
import { createArmPipeline } from './arm-pipeline';
import { boundedCredential } from './bounded-credential';
import { armTokenScope } from './credential';
import { deleteBackend } from './delete-backend';
import { listPages } from './list-pages';
import { createNodeHttpsClient } from './node-https-client';
import { sendWithRetries } from './retry-policy';
import { DEFAULT_RETRY_SETTINGS, type RetrySettings } from './retry-strategy';
import { tlsTrustPolicy } from './tls-trust-policy';
import type { WriteLimiter } from './write-limiter';
import { writeOnCallerEtag } from './write-on-caller-etag';
import { writeOnReadEtag } from './write-on-read-etag';
import { putUnconditionally } from './write-unconditional-put';

/** How to build an ARM client. */
export interface ArmClientOptions {
  /** ARM base URL, e.g. `https://management.azure.com` (ARM_ENDPOINT). */
  endpoint: string;
  /** The api-version for every request (the caller picks the default, '2024-05-01'). */
  apiVersion: string;
  credential: TokenCredential;
  /** Default: systemClock. */
  clock?: Clock;
  /** Jitter source in [0, 1). Default: Math.random. */
  random?: () => number;
  /** Time one attempt may take before it is abandoned (and retried). Default 30000. */
  perAttemptTimeoutMs?: number;
  /** Total budget per call when the caller passes no deadline. Default: CHANGE_DEADLINE_SECONDS' default (config). */
  deadlineMs?: number;
  /** Cap of the exponential backoff (base 500 ms). Default 30000. ARM's Retry-After is never capped. */
  maxBackoffMs?: number;
  /** Sends of one operation at most, whatever the deadline. Default 64. */
  maxAttempts?: number;
  /** An extra CA to trust (the local emulator's self-signed certificate). Verification stays on. */
  caCertPem?: string;
  /**
   * Replaces the default HTTP client, `createNodeHttpsClient` (tests). A replacement is not trusted to honour
   * `request.timeout` or to end promptly on `request.abortSignal`, so the client guards each of its attempts itself.
   */
  httpClient?: HttpClient;
  userAgentPrefix?: string;
  /** Receives retry notices of calls that bring no logger of their own. */
  logger?: ArmClientLogger;
  /**
   * A process-wide limiter of writes per subscription (see `createWriteLimiter`), shared by every client of the
   * process: consulted before every PUT/PATCH/POST/DELETE send and fed every answer's remaining-writes header, so
   * writes go out at ARM's refill rate instead of bursting into 429s. Reads are never held back. Default: none.
   */
  writeLimiter?: WriteLimiter;
}

const DEFAULT_PER_ATTEMPT_TIMEOUT_MS = 30_000;
const DEFAULT_DEADLINE_MS = DEFAULT_CHANGE_DEADLINE_SECONDS * 1000;

type WriteOptions = CallOptions & { ifMatch?: string; currentEtag?: string | null };

class ArmClient implements ArmBackendClient {
  private readonly ctx: ArmContext;
  private readonly endpoint: string;
  private readonly endpointOrigin: string;
  private readonly apiVersion: string;
  private readonly apiVersionQuery: string;
  private readonly deadlineMs: number;
  private readonly logger: ArmClientLogger | undefined;

  constructor(options: ArmClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.endpointOrigin = new URL(this.endpoint).origin;
    this.apiVersion = options.apiVersion;
    this.apiVersionQuery = `api-version=${encodeURIComponent(options.apiVersion)}`;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.logger = options.logger;
    const perAttemptTimeoutMs = options.perAttemptTimeoutMs ?? DEFAULT_PER_ATTEMPT_TIMEOUT_MS;
    const clientBoundsAttempts = options.httpClient === undefined;
    const retry: RetrySettings = { ...DEFAULT_RETRY_SETTINGS };
    if (options.maxBackoffMs !== undefined) retry.maxBackoffMs = options.maxBackoffMs;
    if (options.maxAttempts !== undefined) retry.maxAttempts = options.maxAttempts;
    const { userAgentPrefix, caCertPem, credential } = options;
    this.ctx = {
      // One send step per client: no per-request policy chain, and none of core-rest-pipeline's retry policies.
      pipeline: createArmPipeline({
        userAgentPrefix,
        agent: caCertPem !== undefined && caCertPem !== '' ? tlsTrustPolicy(caCertPem).agent : undefined,
        // With our own HTTP client the attempt's bounds start at the wire; the token wait is bounded here instead.
        credential: clientBoundsAttempts ? boundedCredential(credential, perAttemptTimeoutMs) : credential,
        scopes: armTokenScope(this.endpoint),
      }),
      httpClient: options.httpClient ?? createNodeHttpsClient(),
      clientBoundsAttempts,
      clock: options.clock ?? systemClock,
      random: options.random ?? Math.random,
      perAttemptTimeoutMs,
      retry,
      writeLimiter: options.writeLimiter,
    };
  }

  async getEntityTag(target: BackendTarget, options?: CallOptions): Promise<ArmResult<undefined>> {
    const call = this.startCall(options, target);
    const url = this.backendUrl(target, options?.apiVersion);
    const answer = await sendWithRetries(this.ctx, call, { method: 'HEAD', url, role: 'operation', sends: 0 });
    return isArmError(answer) ? answer : call.resultOf(answer, undefined);
  }

  async get(target: BackendTarget, options?: CallOptions): Promise<ArmResult> {
    const call = this.startCall(options, target);
    const url = this.backendUrl(target, options?.apiVersion);
    const answer = await sendWithRetries(this.ctx, call, { method: 'GET', url, role: 'operation', sends: 0 });
    return isArmError(answer) ? answer : call.resultOf(answer, answer.body);
  }

  async list(scope: BackendScope, options?: CallOptions): Promise<ArmResult<BackendList>> {
    return listPages(this.ctx, this.startCall(options, scope), {
      firstUrl: `${this.endpoint}${backendCollectionPath(scope)}?${this.versionQuery(options?.apiVersion)}`,
      endpoint: this.endpoint,
      endpointOrigin: this.endpointOrigin,
      apiVersion: options?.apiVersion ?? this.apiVersion,
    });
  }

  createOrUpdate(target: BackendTarget, body: unknown, options?: WriteOptions): Promise<ArmResult> {
    return this.write('PUT', target, body, options);
  }

  update(target: BackendTarget, body: unknown, options?: WriteOptions): Promise<ArmResult> {
    return this.write('PATCH', target, body, options);
  }

  async reconnect(target: BackendTarget, body?: unknown, options?: CallOptions): Promise<ArmResult<undefined>> {
    const call = this.startCall(options, target);
    const url = `${this.endpoint}${backendPath(target)}/reconnect?${this.versionQuery(options?.apiVersion)}`;
    // A reconnect leaves nothing to observe, so nothing can tell whether a send that may have arrived did: it is
    // never sent twice (a second reconnect drops the gateway's connections to the backend again).
    const spec: RequestSpec = { method: 'POST', url, role: 'operation', atMostOnce: true, sends: 0 };
    if (body !== undefined) spec.body = JSON.stringify(body);
    const answer = await sendWithRetries(this.ctx, call, spec);
    return isArmError(answer) ? answer : call.resultOf(answer, undefined);
  }

  async delete(target: BackendTarget, options?: CallOptions & { ifMatch?: string }): Promise<ArmResult<undefined>> {
    const call = this.startCall(options, target);
    return deleteBackend(this.ctx, call, this.backendUrl(target, options?.apiVersion), options?.ifMatch ?? '*');
  }

  /**
   * PUT and PATCH: on the caller's ETag when given (a 412 is then final); else on the ETag known or read here, so a
   * re-send cannot apply twice; a PUT with nothing to be conditional on (a create, or a caller that did not read)
   * goes unconditionally. Async like every operation: whatever throws (a body JSON cannot hold) rejects the promise.
   */
  private async write(
    method: 'PUT' | 'PATCH',
    target: BackendTarget,
    desired: unknown,
    options?: WriteOptions,
  ): Promise<ArmResult> {
    const call = this.startCall(options, target);
    const url = this.backendUrl(target, options?.apiVersion);
    const json = JSON.stringify(desired);
    if (options?.ifMatch !== undefined)
      return writeOnCallerEtag(this.ctx, call, method, url, json, desired, options.ifMatch);
    const known = options?.currentEtag;
    if (method === 'PUT' && (known === null || known === undefined)) {
      return putUnconditionally(this.ctx, call, url, json, desired, known === null);
    }
    // An ETag the caller just read saves the HEAD; for a PATCH, "does not exist" (null) is left to its own 404.
    return writeOnReadEtag(this.ctx, call, method, url, json, desired, typeof known === 'string' ? known : undefined);
  }

  private startCall(options: CallOptions | undefined, where: { subscriptionId: string }): CallState {
    const deadline = options?.deadline ?? this.ctx.clock.now() + this.deadlineMs;
    return new CallState(
      randomUUID(),
      where.subscriptionId,
      deadline,
      options?.signal,
      options?.logger ?? this.logger,
      options?.observer,
    );
  }

  private backendUrl(target: BackendTarget, apiVersion: string | undefined): string {
    return `${this.endpoint}${backendPath(target)}?${this.versionQuery(apiVersion)}`;
  }

  /** The api-version query: the call's own version (a request may ask for one), else the client's. */
  private versionQuery(apiVersion: string | undefined): string {
    return apiVersion === undefined ? this.apiVersionQuery : `api-version=${encodeURIComponent(apiVersion)}`;
  }
}

/**
 * Creates the ARM client for API Management backends. One client holds one pipeline and one connection pool;
 * create it once per process and share it.
 *
 * @example
 * const client = createArmBackendClient({
 *   endpoint: 'https://management.azure.com',
 *   apiVersion: '2024-05-01',
 *   credential: createArmCredential({ endpoint: 'https://management.azure.com' }),
 * });
 * const result = await client.get(target);
 */
export function createArmBackendClient(options: ArmClientOptions): ArmBackendClient {
  return new ArmClient(options);
}
