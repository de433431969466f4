/**
 * The ARM client for API Management backends, on @azure/core-rest-pipeline.
 *
 * The pipeline carries only what every request needs (user agent, the extra CA, the bearer token); the headers of the
 * request itself (client request id, correlation id, content type) are set where the request is built. The HTTP client
 * is our own lean one (`node-https-client.ts`), which bounds each attempt itself.
 * Retries are NOT a pipeline policy: core-rest-pipeline's retry rules do not fit ARM (no PessimisticConcurrencyConflict,
 * no deadline, no unknown-outcome re-reads), so each operation runs its own loop, driven by the pure decisions in
 * `retry-strategy.ts`.
 *
 * Caller abort: an aborted `signal` stops the call promptly (the in-flight request is cancelled, a pending wait ends)
 * and the call RESOLVES with `{ kind: 'transient', code: 'Timeout', error: { code: 'RequestAborted' } }` rather than
 * throwing — like every expected failure here, it is a value. A write aborted mid-flight has an unknown outcome, which
 * is exactly what a transient result tells the caller (re-apply later; the writes are idempotent in effect).
 */
import { randomUUID } from 'node:crypto';
import {
  createHttpHeaders,
  createPipelineRequest,
  RestError,
  type HttpClient,
  type HttpMethods,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { AbortError } from '@azure/abort-controller';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { ErrorBody, ErrorDetail } from '../../domain/contract/error-response';
import type { Clock } from '../../app/clock-ports';
import type {
  ArmBackendClient,
  ArmClientLogger,
  ArmHeaders,
  ArmResult,
  BackendList,
  CallOptions,
  TransientCode,
} from '../../app/arm-ports';
import { createArmPipeline, type ArmPipeline } from './arm-pipeline';
import { armTokenScope } from './credential';
import { isApplied } from '../../domain/desired-state';
import { createNodeHttpsClient, REQUEST_TIMEOUT_CODE } from './node-https-client';
import { backendCollectionPath, backendPath, type BackendScope, type BackendTarget } from '../../domain/backend-id';
import { retryAfterMsFromHeaders } from './retry-after';
import {
  ATTEMPT_TIMEOUT_CODE,
  DEFAULT_RETRY_SETTINGS,
  decideConcurrencyRetry,
  decideRetry,
  isUnknownOutcome,
  type AttemptOutcome,
  type RetrySettings,
} from './retry-strategy';
import { tlsTrustPolicy } from './tls-trust-policy';
import {
  remainingWritesOf,
  writeObservationOf,
  type WriteLimiter,
  type WriteObservation,
  type WritePermit,
} from './write-limiter';
import { isRecord } from '../../domain/is-record';
import type { ArmObserver } from './arm-observer';
import { DEFAULT_CHANGE_DEADLINE_SECONDS } from '../../config/settings';
import { systemClock } from '../system-clock';

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
  /** Told about every send and every write-limiter wait (traces, metrics). Default: none. */
  observer?: ArmObserver;
}

const DEFAULT_PER_ATTEMPT_TIMEOUT_MS = 30_000;
const DEFAULT_DEADLINE_MS = DEFAULT_CHANGE_DEADLINE_SECONDS * 1000;
/** An attempt gets at least this long even when the deadline is nearer: a request needs time to be answered. */
const MIN_ATTEMPT_TIMEOUT_MS = 1_000;
/** How often a create with an unknown outcome is re-read while waiting for a late answer to land. */
const CREATE_SETTLE_POLL_MS = 250;
/** The methods ARM counts against the subscription's writes bucket. */
const WRITE_METHODS: ReadonlySet<string> = new Set(['PUT', 'PATCH', 'POST', 'DELETE']);
/** Largest message kept from a thrown error in a synthesised error body. */
const MAX_ERROR_MESSAGE = 300;

type OkResult<T> = Extract<ArmResult<T>, { kind: 'ok' }>;
type TransientResult = Extract<ArmResult, { kind: 'transient' }>;
type ArmErrorResult = Extract<ArmResult, { kind: 'armError' }>;

/** A complete HTTP answer from ARM, parsed. */
interface Answer {
  kind: 'answer';
  status: number;
  headers: ArmHeaders;
  body: unknown;
  /** ARM's ErrorResponse `error`, when a non-2xx body carried one. */
  armError?: ErrorBody;
  outcome: AttemptOutcome;
  /** What the answer said about the subscription's writes bucket (only with a write limiter). */
  writeObservation?: WriteObservation;
}

/** What one send produced. */
type Attempt =
  | Answer
  | { kind: 'network'; outcome: Extract<AttemptOutcome, { kind: 'network' }>; message: string }
  | { kind: 'aborted' };

/** One request of a call. Mutable: an unknown-outcome read may refresh `ifMatch` before the re-send. */
interface RequestSpec {
  method: HttpMethods;
  url: string;
  body?: string;
  ifMatch?: string;
  /** `operation` sends count in `attempts`, `read` sends (ETag reads, outcome checks) in `reads`. */
  role: 'operation' | 'read';
  /** Never re-sent once a send may have been applied (the call then ends `outcomeUnknown`). */
  atMostOnce?: boolean;
  /** A PUT of a backend known not to exist before it: a read confirming it was created by it answers 201. */
  creates?: boolean;
}

/**
 * Consulted before re-sending a write whose previous attempt had an unknown outcome (or, after such an attempt,
 * when the re-send is refused with 404/412): a result settles the call, undefined means "send again".
 */
type Verify<T> = () => Promise<ArmResult<T> | undefined>;

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** ARM's `error` (or a bare `{code, message}`), kept leniently: what is well-formed passes through unchanged. */
function armErrorOf(body: unknown): ErrorBody | undefined {
  const candidate = isRecord(body) && isRecord(body.error) ? body.error : body;
  if (!isRecord(candidate) || typeof candidate.code !== 'string' || typeof candidate.message !== 'string') {
    return undefined;
  }
  const error: ErrorBody = { code: candidate.code, message: candidate.message };
  if (typeof candidate.target === 'string') error.target = candidate.target;
  if (Array.isArray(candidate.details)) {
    const details: ErrorDetail[] = [];
    for (const d of candidate.details) {
      if (!isRecord(d) || typeof d.code !== 'string' || typeof d.message !== 'string') continue;
      details.push(
        typeof d.target === 'string'
          ? { code: d.code, message: d.message, target: d.target }
          : { code: d.code, message: d.message },
      );
    }
    error.details = details;
  }
  return error;
}

/** The error body of a final answer: ARM's own, or one synthesised from the status. */
function errorOfAnswer(answer: Answer): ErrorBody {
  if (answer.armError) return answer.armError;
  if (answer.status === 412) {
    return { code: 'PreconditionFailed', message: 'The ETag in If-Match no longer matches the backend.' };
  }
  return { code: `HttpStatus${answer.status}`, message: `ARM answered HTTP ${answer.status} without an error body.` };
}

function errorCodeOf(error: unknown): string {
  if (isRecord(error) || error instanceof Error) {
    const { code, name } = error as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    if (typeof name === 'string' && name !== '') return name;
  }
  return 'UnknownError';
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > MAX_ERROR_MESSAGE ? `${text.slice(0, MAX_ERROR_MESSAGE)}…` : text;
}

/** Rejects when `signal` aborts, so a send ends promptly even if the HTTP client is slow to notice. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * `credential` with every token request bounded by `timeoutMs` and by the request's abort signal. The bearer policy
 * asks the credential only when it holds no fresh token (its cache answers every other request), so this costs
 * nothing per request; it keeps a hung token endpoint from holding an attempt that our HTTP client bounds only once
 * the request is on the wire. The timeout rejects like an HTTP timeout (code `RequestTimeout`), so it is retried the
 * same way.
 */
function boundedCredential(credential: TokenCredential, timeoutMs: number): TokenCredential {
  return {
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      const outer = options?.abortSignal;
      if (outer?.aborted) return Promise.reject(new AbortError('The token request was aborted.'));
      const controller = new AbortController();
      return new Promise<AccessToken | null>((resolve, reject) => {
        const stop = (error: Error): void => {
          controller.abort();
          reject(error);
        };
        const onAbort = (): void => stop(new AbortError('The token request was aborted.'));
        const timer = setTimeout(
          () => stop(new RestError(`No token within ${timeoutMs} ms.`, { code: REQUEST_TIMEOUT_CODE })),
          timeoutMs,
        );
        outer?.addEventListener('abort', onAbort, { once: true });
        const settle = (): void => {
          clearTimeout(timer);
          outer?.removeEventListener('abort', onAbort);
        };
        credential.getToken(scopes, { ...options, abortSignal: controller.signal }).then(
          (token) => {
            settle();
            resolve(token);
          },
          (error: unknown) => {
            settle();
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    },
  };
}

/** The state of one client call: its correlation id, deadline, counters and last transient failure. */
class CallState {
  attempts = 0;
  reads = 0;
  /** Set when an operation send may have been applied by ARM without us seeing the answer. */
  ambiguous = false;
  /** Set when the last operation send was abandoned by our per-attempt timeout (ARM may still be working on it). */
  lastSendTimedOut = false;
  lastStatus: number | undefined;
  lastArmError: ErrorBody | undefined;
  lastFailure = 'no attempt was made';
  lastCode: TransientCode = 'Timeout';
  lastHeaders: ArmHeaders;

  constructor(
    readonly correlationId: string,
    readonly subscriptionId: string,
    readonly deadline: number,
    readonly signal: AbortSignal | undefined,
    readonly logger: ArmClientLogger | undefined,
  ) {
    this.lastHeaders = { correlationRequestId: correlationId };
  }

  transient(code: TransientCode, retryAfterMs?: number): TransientResult {
    const result: TransientResult = {
      kind: 'transient',
      code,
      headers: this.lastHeaders,
      error: this.lastArmError ?? { code, message: `ARM call did not succeed: ${this.lastFailure}.` },
      attempts: this.attempts,
      reads: this.reads,
    };
    if (this.lastStatus !== undefined) result.status = this.lastStatus;
    if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
    return result;
  }

  /** A write that may have been applied and is not sent again. */
  unknownOutcome(): TransientResult {
    const result = this.transient('UpstreamUnavailable');
    result.outcomeUnknown = true;
    return result;
  }

  aborted(): TransientResult {
    const result = this.transient('Timeout');
    result.error = { code: 'RequestAborted', message: 'The call was aborted by its caller.' };
    return result;
  }

  armError(answer: Answer): ArmErrorResult {
    return {
      kind: 'armError',
      status: answer.status,
      headers: answer.headers,
      error: errorOfAnswer(answer),
      attempts: this.attempts,
      reads: this.reads,
    };
  }

  ok<T>(status: number, headers: ArmHeaders, body: T): OkResult<T> {
    return { kind: 'ok', status, headers, body, attempts: this.attempts, reads: this.reads };
  }
}

class ArmClient implements ArmBackendClient {
  private readonly pipeline: ArmPipeline;
  private readonly httpClient: HttpClient;
  /**
   * True for our own HTTP client, which bounds each exchange by `request.timeout` and ends it at once on
   * `request.abortSignal`: an attempt then needs no AbortController, timer or listener of its own (they cost a fifth
   * of the client's CPU per request). A caller's client gets that guard around every attempt.
   */
  private readonly clientBoundsAttempts: boolean;
  private readonly endpoint: string;
  private readonly endpointOrigin: string;
  private readonly apiVersion: string;
  private readonly apiVersionQuery: string;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly perAttemptTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly settings: RetrySettings;
  private readonly logger: ArmClientLogger | undefined;
  private readonly writeLimiter: WriteLimiter | undefined;
  private readonly observer: ArmObserver | undefined;

  constructor(private readonly options: ArmClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.endpointOrigin = new URL(this.endpoint).origin;
    this.apiVersion = options.apiVersion;
    this.apiVersionQuery = `api-version=${encodeURIComponent(options.apiVersion)}`;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.perAttemptTimeoutMs = options.perAttemptTimeoutMs ?? DEFAULT_PER_ATTEMPT_TIMEOUT_MS;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.settings = {
      ...DEFAULT_RETRY_SETTINGS,
      ...(options.maxBackoffMs === undefined ? {} : { maxBackoffMs: options.maxBackoffMs }),
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    };
    this.logger = options.logger;
    this.writeLimiter = options.writeLimiter;
    this.observer = options.observer;
    this.clientBoundsAttempts = options.httpClient === undefined;
    this.httpClient = options.httpClient ?? createNodeHttpsClient();
    this.pipeline = this.buildPipeline();
  }

  /**
   * One send step per client (see `arm-pipeline.ts`): user agent, extra-CA agent and bearer token without
   * core-rest-pipeline's per-request policy chain, and none of its retry policies.
   */
  private buildPipeline(): ArmPipeline {
    const { userAgentPrefix, caCertPem, credential } = this.options;
    return createArmPipeline({
      userAgentPrefix,
      agent: caCertPem !== undefined && caCertPem !== '' ? tlsTrustPolicy(caCertPem).agent : undefined,
      // With our own HTTP client the attempt's bounds start at the wire; the token wait is bounded here instead.
      credential: this.clientBoundsAttempts ? boundedCredential(credential, this.perAttemptTimeoutMs) : credential,
      scopes: armTokenScope(this.endpoint),
    });
  }

  // ---- operations -------------------------------------------------------------------------------------------------

  async getEntityTag(target: BackendTarget, options?: CallOptions): Promise<ArmResult<undefined>> {
    const call = this.startCall(options, target.subscriptionId);
    const answer = await this.exchange(call, {
      method: 'HEAD',
      url: this.backendUrl(target, options?.apiVersion),
      role: 'operation',
    });
    if (answer.kind !== 'answer') return answer;
    return isSuccess(answer.status) ? call.ok(answer.status, answer.headers, undefined) : call.armError(answer);
  }

  async get(target: BackendTarget, options?: CallOptions): Promise<ArmResult> {
    const call = this.startCall(options, target.subscriptionId);
    const answer = await this.exchange(call, {
      method: 'GET',
      url: this.backendUrl(target, options?.apiVersion),
      role: 'operation',
    });
    if (answer.kind !== 'answer') return answer;
    return isSuccess(answer.status) ? call.ok(answer.status, answer.headers, answer.body) : call.armError(answer);
  }

  async list(scope: BackendScope, options?: CallOptions): Promise<ArmResult<BackendList>> {
    const call = this.startCall(options, scope.subscriptionId);
    const value: unknown[] = [];
    const seen = new Set<string>();
    let url = `${this.endpoint}${backendCollectionPath(scope)}?${this.versionQuery(options?.apiVersion)}`;
    for (;;) {
      const answer = await this.exchange(call, { method: 'GET', url, role: 'operation' });
      if (answer.kind !== 'answer') return answer;
      if (!isSuccess(answer.status)) return call.armError(answer);
      const page = answer.body;
      if (!isRecord(page) || !Array.isArray(page.value)) {
        return call.armError({
          ...answer,
          armError: { code: 'InvalidResponse', message: 'ARM answered a list page without a `value` array.' },
        });
      }
      for (const item of page.value as unknown[]) value.push(item);
      const next = page.nextLink;
      if (typeof next !== 'string' || next === '') return call.ok(answer.status, answer.headers, { value });
      const nextUrl = this.nextPageUrl(next, options?.apiVersion);
      if (nextUrl === undefined || seen.has(nextUrl)) {
        return call.armError({
          ...answer,
          armError: { code: 'InvalidNextLink', message: 'ARM answered a nextLink this client will not follow.' },
        });
      }
      seen.add(nextUrl);
      url = nextUrl;
    }
  }

  async createOrUpdate(
    target: BackendTarget,
    body: unknown,
    options?: CallOptions & { ifMatch?: string; currentEtag?: string | null },
  ): Promise<ArmResult> {
    const call = this.startCall(options, target.subscriptionId);
    const url = this.backendUrl(target, options?.apiVersion);
    const json = JSON.stringify(body);
    if (options?.ifMatch !== undefined) return this.writeWithCallerETag(call, 'PUT', url, json, body, options.ifMatch);
    return this.writeWithFreshETag(call, 'PUT', url, json, body, options?.currentEtag);
  }

  async update(
    target: BackendTarget,
    body: unknown,
    options?: CallOptions & { ifMatch?: string; currentEtag?: string | null },
  ): Promise<ArmResult> {
    const call = this.startCall(options, target.subscriptionId);
    const url = this.backendUrl(target, options?.apiVersion);
    const json = JSON.stringify(body);
    if (options?.ifMatch !== undefined)
      return this.writeWithCallerETag(call, 'PATCH', url, json, body, options.ifMatch);
    // An ETag the caller just read saves the HEAD; "does not exist" (null) is left to the PATCH's own 404.
    const known = typeof options?.currentEtag === 'string' ? options.currentEtag : undefined;
    return this.writeWithFreshETag(call, 'PATCH', url, json, body, known);
  }

  async reconnect(target: BackendTarget, body?: unknown, options?: CallOptions): Promise<ArmResult<undefined>> {
    const call = this.startCall(options, target.subscriptionId);
    const url = `${this.endpoint}${backendPath(target)}/reconnect?${this.versionQuery(options?.apiVersion)}`;
    // A reconnect leaves nothing to observe, so nothing can tell whether a send that may have arrived did: it is
    // never sent twice (a second reconnect drops the gateway's connections to the backend again).
    const spec: RequestSpec = { method: 'POST', url, role: 'operation', atMostOnce: true };
    if (body !== undefined) spec.body = JSON.stringify(body);
    const answer = await this.exchange(call, spec);
    if (answer.kind !== 'answer') return answer;
    return isSuccess(answer.status) ? call.ok(answer.status, answer.headers, undefined) : call.armError(answer);
  }

  async delete(target: BackendTarget, options?: CallOptions & { ifMatch?: string }): Promise<ArmResult<undefined>> {
    const call = this.startCall(options, target.subscriptionId);
    const url = this.backendUrl(target, options?.apiVersion);
    const spec: RequestSpec = { method: 'DELETE', url, ifMatch: options?.ifMatch ?? '*', role: 'operation' };
    const verify: Verify<undefined> = async () => {
      const read = await this.exchange(call, { method: 'GET', url, role: 'read' });
      // Gone already: our earlier DELETE landed. Reported as a plain success.
      if (read.kind === 'answer' && read.status === 404) return call.ok(200, read.headers, undefined);
      return undefined;
    };
    const answer = await this.exchange(call, spec, verify);
    if (answer.kind !== 'answer') return answer;
    return isSuccess(answer.status) ? call.ok(answer.status, answer.headers, undefined) : call.armError(answer);
  }

  // ---- helpers for writes -------------------------------------------------------------------------------------------

  /** PUT or PATCH on the caller's ETag: the caller owns it, so a 412 is their answer, final. */
  private async writeWithCallerETag(
    call: CallState,
    method: 'PUT' | 'PATCH',
    url: string,
    json: string,
    desired: unknown,
    ifMatch: string,
  ): Promise<ArmResult> {
    const spec: RequestSpec = { method, url, body: json, ifMatch, role: 'operation' };
    const answer = await this.exchange(call, spec, this.verifyApplied(call, url, desired));
    if (answer.kind !== 'answer') return answer;
    return isSuccess(answer.status) ? call.ok(answer.status, answer.headers, answer.body) : call.armError(answer);
  }

  /**
   * PATCH, or PUT without a caller's ETag, sent conditionally on the ETag the client knows (`known`, read by the
   * caller just before) or reads itself (never `*`, which would overwrite a concurrent change blindly). Because every
   * send — the first and any re-send after an unknown outcome — carries the same precondition, at most one of them
   * can apply: ARM refuses the others with 412, and the verification read recognises our own write. On a 412 from
   * another writer: re-read and re-apply after a jittered pause, until the deadline (the last writer wins, as an
   * unconditional write would). A PUT of a backend that does not exist yet cannot be made conditional (ARM has no
   * create-only precondition for backends), so it goes to {@link putUnconditionally}, as does a PUT whose caller did
   * not read the current ETag (no extra read is spent on it).
   */
  private writeWithFreshETag(
    call: CallState,
    method: 'PUT' | 'PATCH',
    url: string,
    json: string,
    desired: unknown,
    known: string | null | undefined,
  ): Promise<ArmResult> {
    const spec: RequestSpec = { method, url, body: json, role: 'operation' };
    // A PUT without a known ETag: nothing to make it conditional on (a create, or a caller that did not read).
    // Not an async function: the common unconditional PUT passes through without allocating the loop's frame.
    if (method === 'PUT' && (known === null || known === undefined)) {
      if (known === null) spec.creates = true;
      return this.putUnconditionally(call, spec, desired);
    }
    return this.writeConditionally(call, spec, desired, known ?? undefined);
  }

  /** The loop of {@link writeWithFreshETag}: read the ETag when unknown, send on it, re-read and re-apply on 412. */
  private async writeConditionally(
    call: CallState,
    spec: RequestSpec,
    desired: unknown,
    known: string | undefined,
  ): Promise<ArmResult> {
    const { method, url } = spec;
    let etag = known;
    let rounds = 0;
    for (;;) {
      if (etag === undefined) {
        const head = await this.exchange(call, { method: 'HEAD', url, role: 'read' });
        if (head.kind !== 'answer') return head;
        if (!isSuccess(head.status)) return call.armError(head);
        if (head.headers.etag === undefined) {
          return call.armError({
            ...head,
            armError: { code: 'MissingETag', message: 'ARM answered the ETag read without an ETag header.' },
          });
        }
        etag = head.headers.etag;
      }
      spec.ifMatch = etag;
      const verify: Verify<unknown> = async () => {
        const read = await this.exchange(call, { method: 'GET', url, role: 'read' });
        if (read.kind !== 'answer' || !isSuccess(read.status)) return undefined;
        if (isApplied(read.body, desired)) return call.ok(read.status, read.headers, read.body);
        // Not applied: re-send against the state we just saw.
        if (read.headers.etag !== undefined) spec.ifMatch = read.headers.etag;
        return undefined;
      };
      const answer = await this.exchange(call, spec, verify);
      if (answer.kind !== 'answer') return answer;
      if (answer.status !== 412) {
        return isSuccess(answer.status) ? call.ok(answer.status, answer.headers, answer.body) : call.armError(answer);
      }
      rounds += 1;
      const decision = decideConcurrencyRetry({
        rounds,
        now: this.clock.now(),
        deadline: call.deadline,
        random: this.random,
        settings: this.settings,
      });
      if (decision.action === 'giveUp') {
        call.lastStatus = 412;
        call.lastHeaders = answer.headers;
        call.lastArmError = errorOfAnswer(answer);
        return call.transient('Timeout');
      }
      call.logger?.warn('ARM write lost an ETag race; re-reading and re-applying', {
        method,
        url: withoutQuery(url),
        round: rounds,
        delayMs: decision.delayMs,
        correlationRequestId: call.correlationId,
      });
      if (!(await this.pause(decision.delayMs, call))) return call.aborted();
      etag = undefined;
    }
  }

  /**
   * An unconditional PUT. If an attempt timed out on our side, ARM may still be processing it: while the backend
   * does not exist, the verification keeps reading for up to one attempt timeout before deciding to re-send, so a
   * slow first write that lands late is recognised instead of being written a second time.
   */
  private async putUnconditionally(call: CallState, spec: RequestSpec, desired: unknown): Promise<ArmResult> {
    // The verification is a method, not a named closure: nothing extra is built per call on the common path.
    const answer = await this.exchange(call, spec, () => this.verifyUnconditionalPut(call, spec, desired));
    if (answer.kind !== 'answer') return answer;
    return isSuccess(answer.status) ? call.ok(answer.status, answer.headers, answer.body) : call.armError(answer);
  }

  /** Verification for {@link putUnconditionally}: did our PUT land (perhaps late), or must it be sent again? */
  private async verifyUnconditionalPut(
    call: CallState,
    spec: RequestSpec,
    desired: unknown,
  ): Promise<ArmResult | undefined> {
    // Only an attempt we abandoned can land late; a reset connection has either been applied or never will be.
    const window = call.lastSendTimedOut ? this.perAttemptTimeoutMs : 0;
    const settleBy = Math.min(this.clock.now() + window, call.deadline - MIN_ATTEMPT_TIMEOUT_MS);
    for (;;) {
      const read = await this.exchange(call, { method: 'GET', url: spec.url, role: 'read' });
      if (read.kind !== 'answer') return undefined;
      if (isSuccess(read.status) && isApplied(read.body, desired)) {
        // Our write created it when it did not exist before (known, or seen missing since): report what happened.
        return call.ok(spec.creates === true ? 201 : read.status, read.headers, read.body);
      }
      if (read.status === 404) spec.creates = true;
      // Someone else's backend, or still nothing after the window: send (again).
      if (read.status !== 404 || this.clock.now() + CREATE_SETTLE_POLL_MS > settleBy) return undefined;
      if (!(await this.pause(CREATE_SETTLE_POLL_MS, call))) return undefined;
    }
  }

  /** Verification for PUT/PATCH: a GET showing the desired properties means the write already landed. */
  private verifyApplied(call: CallState, url: string, desired: unknown): Verify<unknown> {
    return async () => {
      const read = await this.exchange(call, { method: 'GET', url, role: 'read' });
      if (read.kind === 'answer' && isSuccess(read.status) && isApplied(read.body, desired)) {
        return call.ok(read.status, read.headers, read.body);
      }
      return undefined;
    };
  }

  // ---- the retry loop -------------------------------------------------------------------------------------------

  /**
   * Sends `spec` until ARM answers something final, retrying transient failures per `decideRetry`.
   * Returns the final answer (2xx or a refusal), or a settled failure/result: transient when out of time or
   * attempts, or what `verify` found.
   */
  private async exchange<T = never>(
    call: CallState,
    spec: RequestSpec,
    verify?: Verify<T>,
  ): Promise<Answer | ArmResult<T>> {
    let sends = 0;
    for (;;) {
      if (call.signal?.aborted) return call.aborted();
      if (sends === 0 && call.deadline - this.clock.now() <= 0) {
        call.lastFailure = 'the deadline had passed before the request was sent';
        return call.transient('Timeout');
      }
      // Without a budget (or for a read) no permit is asked for: not even an await is spent on it.
      const waitFrom = this.observer === undefined ? 0 : this.clock.now();
      const permit = this.needsPermit(spec) ? await this.writePermit(call, spec) : undefined;
      if (permit !== undefined) this.observer?.limiterWaited(this.clock.now() - waitFrom);
      if (permit !== undefined && permit.kind !== 'granted') return permit;
      const observed = this.observer?.attemptStarted(spec.method, spec.role);
      const remaining = call.deadline - this.clock.now();
      const timeoutMs = Math.min(this.perAttemptTimeoutMs, Math.max(remaining, MIN_ATTEMPT_TIMEOUT_MS));
      let attempt: Attempt | undefined;
      try {
        attempt = await this.sendOnce(call, spec, timeoutMs);
      } finally {
        // Settled on every path: a permit never settled would count as in flight for ever.
        permit?.permit.settle(attempt?.kind === 'answer' ? attempt.writeObservation : undefined);
      }
      observed?.answered(
        attempt.kind === 'answer'
          ? { status: attempt.status, armRequestId: attempt.headers.requestId, errorCode: attempt.armError?.code }
          : { errorCode: attempt.kind === 'network' ? attempt.outcome.errorCode : 'Aborted' },
      );
      sends += 1;
      if (spec.role === 'operation') call.attempts += 1;
      else call.reads += 1;
      if (attempt.kind === 'aborted') return call.aborted();

      if (attempt.kind === 'answer' && (attempt.status === 404 || attempt.status === 412)) {
        // A re-sent write refused with 404/412 may be refusing our own earlier, unseen success.
        if (verify !== undefined && call.ambiguous) {
          const settled = await verify();
          if (settled !== undefined) return settled;
        }
        return attempt;
      }
      if (attempt.kind === 'answer' && isSuccess(attempt.status)) return attempt;

      const decision = decideRetry({
        outcome: attempt.outcome,
        attempts: sends,
        now: this.clock.now(),
        deadline: call.deadline,
        random: this.random,
        settings: this.settings,
      });
      if (decision.action === 'final') {
        if (attempt.kind === 'answer') return attempt;
        // A connection failure retrying cannot cure (TLS, DNS, credential): nothing from ARM to pass on.
        call.lastFailure = attempt.message;
        return call.transient('UpstreamUnavailable');
      }
      this.recordFailure(call, spec, attempt);
      call.lastCode = decision.code;
      if (spec.atMostOnce === true && call.ambiguous) return call.unknownOutcome();
      if (decision.action === 'giveUp') return call.transient(decision.code, decision.retryAfterMs);
      observed?.retrying(decision.code, decision.delayMs);

      call.logger?.warn('Retrying ARM request', {
        method: spec.method,
        url: withoutQuery(spec.url),
        attempt: sends,
        ...(attempt.kind === 'answer' ? { status: attempt.status } : {}),
        errorCode: attempt.kind === 'answer' ? attempt.armError?.code : attempt.outcome.errorCode,
        delayMs: decision.delayMs,
        correlationRequestId: call.correlationId,
      });
      if (!(await this.pause(decision.delayMs, call))) return call.aborted();
      if (verify !== undefined && isUnknownOutcome(attempt.outcome)) {
        const settled = await verify();
        if (settled !== undefined) return settled;
        if (call.signal?.aborted) return call.aborted();
        // The read may have used up the budget; do not start another write past the deadline.
        if (this.clock.now() >= call.deadline) return call.transient(call.lastCode);
      }
    }
  }

  /** True when a send of `spec` must wait for the write limiter (a write, with a budget). */
  private needsPermit(spec: RequestSpec): boolean {
    return this.writeLimiter !== undefined && WRITE_METHODS.has(spec.method);
  }

  /**
   * Waits for the write limiter before a write send: undefined when no permit is needed (a read, or no budget), a
   * granted permit, or the transient result that ends the call (aborted, or no send possible before the deadline).
   */
  private async writePermit(
    call: CallState,
    spec: RequestSpec,
  ): Promise<{ kind: 'granted'; permit: WritePermit } | TransientResult | undefined> {
    if (this.writeLimiter === undefined || !WRITE_METHODS.has(spec.method)) return undefined;
    const wait = await this.writeLimiter.acquire(call.subscriptionId, { signal: call.signal, deadline: call.deadline });
    if (wait.kind === 'granted') return wait;
    if (wait.kind === 'aborted') return call.aborted();
    call.lastFailure = "the write limiter (pacing the subscription's ARM writes) allows no send before the deadline";
    return call.transient('Throttled', wait.retryAfterMs);
  }

  /** Remembers a retryable failure for the transient result, and whether ARM may have applied a write. */
  private recordFailure(call: CallState, spec: RequestSpec, attempt: Exclude<Attempt, { kind: 'aborted' }>): void {
    if (attempt.kind === 'answer') {
      call.lastStatus = attempt.status;
      call.lastHeaders = attempt.headers;
      if (attempt.armError) call.lastArmError = attempt.armError;
      call.lastFailure = `ARM answered HTTP ${attempt.status}`;
      // A gateway error (or the resource provider's 422 timeout) may come after the write was applied.
      if (spec.role === 'operation' && (attempt.status >= 500 || isUnknownOutcome(attempt.outcome))) {
        call.ambiguous = true;
      }
    } else {
      call.lastFailure = attempt.message;
      if (spec.role === 'operation' && isUnknownOutcome(attempt.outcome)) call.ambiguous = true;
    }
    if (spec.role === 'operation') {
      call.lastSendTimedOut = attempt.kind === 'network' && attempt.outcome.errorCode === ATTEMPT_TIMEOUT_CODE;
    }
  }

  /** Sleeps on the client's clock; false when the caller aborted meanwhile. */
  private async pause(ms: number, call: CallState): Promise<boolean> {
    try {
      await this.clock.sleep(ms, call.signal);
    } catch (error) {
      if (call.signal?.aborted) return false;
      throw error;
    }
    return !call.signal?.aborted;
  }

  /** One send through the pipeline, bounded by the per-attempt timeout and the caller's signal. */
  private async sendOnce(call: CallState, spec: RequestSpec, timeoutMs: number): Promise<Attempt> {
    const request = this.requestFor(call, spec);
    if (!this.clientBoundsAttempts) return this.sendGuarded(call, spec, request, timeoutMs);
    request.timeout = timeoutMs;
    if (call.signal !== undefined) request.abortSignal = call.signal;
    try {
      return this.readAnswer(call, spec, await this.pipeline.sendRequest(this.httpClient, request));
    } catch (error) {
      return failedAttempt(call, error, errorCodeOf(error) === REQUEST_TIMEOUT_CODE, timeoutMs);
    }
  }

  /** `sendOnce` through a client we did not write: our own timer and abort, raced against its answer. */
  private async sendGuarded(
    call: CallState,
    spec: RequestSpec,
    request: PipelineRequest,
    timeoutMs: number,
  ): Promise<Attempt> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onCallerAbort = (): void => controller.abort();
    call.signal?.addEventListener('abort', onCallerAbort, { once: true });
    request.abortSignal = controller.signal;
    try {
      const response = await untilAborted(this.pipeline.sendRequest(this.httpClient, request), controller.signal);
      return this.readAnswer(call, spec, response);
    } catch (error) {
      return failedAttempt(call, error, timedOut, timeoutMs);
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /** The pipeline request for one send of `spec` (a fresh one per send: the pipeline's policies mutate it). */
  private requestFor(call: CallState, spec: RequestSpec): PipelineRequest {
    const headers = createHttpHeaders();
    headers.set('accept', 'application/json');
    headers.set('x-ms-correlation-request-id', call.correlationId);
    if (spec.body !== undefined) headers.set('content-type', 'application/json');
    if (spec.ifMatch !== undefined) headers.set('if-match', spec.ifMatch);
    const request = createPipelineRequest(
      spec.body === undefined
        ? { url: spec.url, method: spec.method, headers }
        : { url: spec.url, method: spec.method, headers, body: spec.body },
    );
    // What setClientRequestIdPolicy would set, without a policy (an async step) per request.
    headers.set('x-ms-client-request-id', request.requestId);
    return request;
  }

  private readAnswer(call: CallState, spec: RequestSpec, response: PipelineResponse): Answer {
    const { status } = response;
    const retryAfterMs = isSuccess(status) ? undefined : retryAfterMsFromHeaders(response.headers, this.clock.now());
    let writeObservation: WriteObservation | undefined;
    if (this.writeLimiter !== undefined) {
      if (WRITE_METHODS.has(spec.method)) {
        writeObservation = writeObservationOf(spec.method, status, response.headers, retryAfterMs);
      } else {
        // Reads are not gated, but a writes figure on their answer is still news.
        const remaining = remainingWritesOf(response.headers);
        if (remaining !== undefined) this.writeLimiter.noteRemaining(call.subscriptionId, remaining);
      }
    }
    const headers: ArmHeaders = {};
    const etag = response.headers.get('etag');
    if (etag !== undefined) headers.etag = etag;
    const requestId = response.headers.get('x-ms-request-id');
    if (requestId !== undefined) headers.requestId = requestId;
    headers.correlationRequestId = response.headers.get('x-ms-correlation-request-id') ?? call.correlationId;

    let body: unknown;
    const text = response.bodyAsText;
    if (text !== undefined && text !== null && text !== '') {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = undefined; // not JSON (an HTML page from a proxy, say): treated as no body
      }
    }
    if (isSuccess(status)) {
      const ok: Answer = { kind: 'answer', status, headers, body, outcome: { kind: 'status', status } };
      if (writeObservation !== undefined) ok.writeObservation = writeObservation;
      return ok;
    }
    const armError = armErrorOf(body);
    const answer: Answer = {
      kind: 'answer',
      status,
      headers,
      body,
      outcome: { kind: 'status', status, errorCode: armError?.code, retryAfterMs },
    };
    if (armError) answer.armError = armError;
    if (writeObservation !== undefined) answer.writeObservation = writeObservation;
    return answer;
  }

  // ---- URLs and calls -----------------------------------------------------------------------------------------------

  private startCall(options: CallOptions | undefined, subscriptionId: string): CallState {
    const deadline = options?.deadline ?? this.clock.now() + this.deadlineMs;
    return new CallState(randomUUID(), subscriptionId, deadline, options?.signal, options?.logger ?? this.logger);
  }

  private backendUrl(target: BackendTarget, apiVersion: string | undefined): string {
    return `${this.endpoint}${backendPath(target)}?${this.versionQuery(apiVersion)}`;
  }

  /** The api-version query: the call's own version (a request may ask for one), else the client's. */
  private versionQuery(apiVersion: string | undefined): string {
    return apiVersion === undefined ? this.apiVersionQuery : `api-version=${encodeURIComponent(apiVersion)}`;
  }

  /**
   * The URL of the next list page, or undefined when ARM's nextLink points elsewhere: the bearer token must never
   * be sent to another host.
   */
  private nextPageUrl(nextLink: string, apiVersion: string | undefined): string | undefined {
    let url: URL;
    try {
      url = new URL(nextLink, this.endpoint);
    } catch {
      return undefined;
    }
    if (url.origin !== this.endpointOrigin) return undefined;
    if (!url.searchParams.has('api-version')) url.searchParams.set('api-version', apiVersion ?? this.apiVersion);
    return url.toString();
  }
}

/** What a send that ended without an answer was: the caller's abort, our timeout, or a network failure. */
function failedAttempt(call: CallState, error: unknown, timedOut: boolean, timeoutMs: number): Attempt {
  if (call.signal?.aborted) return { kind: 'aborted' };
  if (timedOut) {
    return {
      kind: 'network',
      outcome: { kind: 'network', errorCode: ATTEMPT_TIMEOUT_CODE },
      message: `no answer within ${timeoutMs} ms`,
    };
  }
  const errorCode = errorCodeOf(error);
  return { kind: 'network', outcome: { kind: 'network', errorCode }, message: `${errorCode}: ${messageOf(error)}` };
}

/** A request URL without its query, for retry notices. */
function withoutQuery(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
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
