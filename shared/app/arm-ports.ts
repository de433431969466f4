import type { ErrorBody } from '../domain/contract/error-response';
import type { BackendScope, BackendTarget } from '../domain/backend-id';

/** ARM response headers the product reports. Absent headers are absent keys. */
export interface ArmHeaders {
  etag?: string;
  requestId?: string;
  correlationRequestId?: string;
}

/** Receives retry notices (never bodies, never headers): the invocation's log in production. */
export interface ArmClientLogger {
  warn(msg: string, props?: object): void;
}

/**
 * Per-call options: an abort signal, an absolute deadline (epoch ms) for the whole call, retries included, the
 * logger of the invocation making the call (instead of the client's own), so its retries show in that invocation's log,
 * the api-version to send (default: the client's), and the observer of its sends (instead of the client's own: the
 * span of the change making the call).
 */
export interface CallOptions {
  signal?: AbortSignal;
  deadline?: number;
  logger?: ArmClientLogger;
  apiVersion?: string;
  observer?: ArmObserver;
}

/**
 * What the ARM client reports about its sends, for tracing and metrics (never bodies, headers or URLs with
 * queries). Implemented by the telemetry adapter; the client works the same without one.
 */
export interface ArmObserver {
  /** A send is starting; the handle describes how it ended. */
  attemptStarted(method: string, role: 'operation' | 'read'): ArmAttemptHandle;
  /** A write waited this long for the write limiter (the subscription's ARM writes). */
  limiterWaited(ms: number): void;
}

/** What one send became. */
export interface ArmAttemptAnswer {
  /** ARM's HTTP status; undefined when no answer came (network failure, timeout). */
  status?: number | undefined;
  /** `x-ms-request-id` of the answer. */
  armRequestId?: string | undefined;
  /** ARM's error code, or the network failure's code. */
  errorCode?: string | undefined;
}

export interface ArmAttemptHandle {
  /**
   * The send ended. The attempt is closed at the end of the current job unless {@link retrying} is called first,
   * synchronously: the retry decision is taken right after the answer, without an await in between.
   */
  answered(answer: ArmAttemptAnswer): void;
  /** The send will be retried after `waitMs`, for `reason` (Throttled, UpstreamUnavailable, …). */
  retrying(reason: string, waitMs: number): void;
}

/** Codes for failures that retrying later may cure. */
export type TransientCode = 'Throttled' | 'UpstreamUnavailable' | 'Timeout';

/** ARM answered 2xx: `body` is the parsed JSON, or undefined for HEAD and empty bodies. */
export interface ArmOk<T = unknown> {
  kind: 'ok';
  status: number;
  headers: ArmHeaders;
  body: T;
  attempts: number;
  reads: number;
}

/**
 * Every way an ARM call can fail, as a value (expected failures are never thrown):
 * - `armError`: ARM refused with a final status (4xx other than the retryable ones, 412 when final);
 * - `transient`: retries were exhausted or the next wait would pass the deadline; `retryAfterMs` is ARM's
 *   last advice when it gave one, so the caller can defer (throw for redelivery, 429/503 with Retry-After).
 * The ARM adapter's `isArmError` tells it apart from a success or a raw answer.
 */
export type ArmError =
  | { kind: 'armError'; status: number; headers: ArmHeaders; error: ErrorBody; attempts: number; reads: number }
  | {
      kind: 'transient';
      code: TransientCode;
      status?: number;
      retryAfterMs?: number;
      headers: ArmHeaders;
      error: ErrorBody;
      attempts: number;
      reads: number;
      /** A write that may have been applied and that the client would not send again (a reconnect). */
      outcomeUnknown?: true;
    };

/**
 * The result of one client operation: a success or an {@link ArmError}.
 * `attempts` counts sends of the operation itself (PUT/PATCH/POST/DELETE or the GET/HEAD of a read call),
 * never the extra reads a write makes to fetch an ETag or to check an unknown outcome (those are `reads`).
 */
export type ArmResult<T = unknown> = ArmOk<T> | ArmError;

/** A backend collection page-joined: every item of every page. */
export interface BackendList {
  value: unknown[];
}

/** Typed operations on API Management backends (service and workspace scope). */
export interface ArmBackendClient {
  /** HEAD: the backend's current ETag (`headers.etag`); 404 as `armError`. */
  getEntityTag(target: BackendTarget, options?: CallOptions): Promise<ArmResult<undefined>>;
  /** GET one backend. */
  get(target: BackendTarget, options?: CallOptions): Promise<ArmResult>;
  /** GET the collection, following `nextLink` until it is empty. */
  list(scope: BackendScope, options?: CallOptions): Promise<ArmResult<BackendList>>;
  /**
   * PUT; 201 created / 200 updated. With `ifMatch`, a 412 is final. Without it, the PUT is sent conditionally on
   * the current ETag (`currentEtag` when the caller just read it — `null` when the backend does not exist — else
   * read with HEAD), so a re-send after an unknown outcome cannot apply twice; another writer's 412 is re-read and
   * re-applied until the deadline.
   */
  createOrUpdate(
    target: BackendTarget,
    body: unknown,
    options?: CallOptions & { ifMatch?: string; currentEtag?: string | null },
  ): Promise<ArmResult>;
  /**
   * PATCH. With `ifMatch`, a 412 is final. Without it, the client sends the current ETag (`currentEtag` when the
   * caller just read it, else read with HEAD; never `*`), and on 412 re-reads and re-applies with jittered backoff
   * until the deadline.
   */
  update(
    target: BackendTarget,
    body: unknown,
    options?: CallOptions & { ifMatch?: string; currentEtag?: string | null },
  ): Promise<ArmResult>;
  /**
   * POST …/reconnect; 202. Body optional (`{"properties":{"after":"PT3S"}}`). A send that may have reached ARM (a
   * reset or timeout after sending, a 5xx, a 422 timeout) is not sent again: a reconnect leaves nothing to check, so
   * the result is `transient` with `outcomeUnknown`.
   */
  reconnect(target: BackendTarget, body?: unknown, options?: CallOptions): Promise<ArmResult<undefined>>;
  /** DELETE; 200/204. `ifMatch` defaults to `*`. */
  delete(target: BackendTarget, options?: CallOptions & { ifMatch?: string }): Promise<ArmResult<undefined>>;
}
