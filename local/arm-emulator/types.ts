/**
 * The public shapes of the ARM emulator: its options, its handle, its request log and fault specifications.
 */

/** A token bucket: `capacity` tokens, refilled continuously at `refillPerSecond`. */
export interface BucketOptions {
  capacity: number;
  refillPerSecond: number;
}

/** Options for {@link startArmEmulator}. */
export interface ArmEmulatorOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks an ephemeral one. */
  port?: number;
  /** The bearer token every request must carry; default `emulator-token`. */
  token?: string;
  /**
   * Per-subscription token buckets, as ARM keeps them. Writes are PUT/PATCH/POST/DELETE; reads GET/HEAD.
   * `deletes`, when given, takes DELETE out of the writes bucket (ARM keeps a separate one).
   */
  throttle?: { writes?: BucketOptions; reads?: BucketOptions; deletes?: BucketOptions };
  /** Backends present at start, by ARM id. Stored as given, without validation. */
  seed?: Array<{ id: string; properties: Record<string, unknown> }>;
  /** Items per list page (ARM's own page is larger; a small default makes clients exercise `nextLink`). Default 2. */
  pageSize?: number;
  /** Record every request in `requests` (default true). Benchmarks turn it off. */
  logRequests?: boolean;
  /**
   * The Swagger marks `If-Match` required on DELETE; the service is commonly called with `*`. Default false:
   * DELETE without `If-Match` is accepted. Set true to refuse it with 400 as the Swagger describes.
   */
  requireIfMatchOnDelete?: boolean;
  /** Time source for the throttle buckets (epoch ms); default `Date.now`. */
  now?: () => number;
}

/** A backend as the emulator stores it. */
export interface BackendRecord {
  /** ARM id, with the casing of the request that created it. */
  id: string;
  /** `Microsoft.ApiManagement/service/backends` or `Microsoft.ApiManagement/service/workspaces/backends`. */
  type: string;
  /** The backend id (last id segment). */
  name: string;
  /** The properties as last written (PUT body or merged PATCH), without the response-only pool nulls. */
  properties: Record<string, unknown>;
  /** The current ETag, quoted. */
  etag: string;
}

/** One request as the emulator saw it. */
export interface RequestLogEntry {
  method: string;
  /** The percent-decoded path. */
  path: string;
  apiVersion?: string;
  ifMatch?: string;
  /** Parsed JSON body; the raw text when it was not JSON; absent when empty. */
  body?: unknown;
  /** The status answered; 0 when the connection was reset instead (or the emulator stopped first). */
  status: number;
  /** What fault was applied, e.g. `status 429`, `delay 200ms`, `reset after`. */
  fault?: string;
  /** Arrival time, epoch ms. */
  time: number;
}

/** A fault to inject into matching requests. Faults match in order of injection. */
export interface FaultSpec {
  /** HTTP method to match (case-insensitive); absent = any. */
  method?: string;
  /** Substring of, or regex on, the percent-decoded path; absent = any. */
  path?: string | RegExp;
  /** How many matching requests it applies to (default 1); `Infinity` allowed. */
  count?: number;
  /** Answer this status with an ARM error body instead of handling the request. */
  status?: number;
  /** Error code for the body; defaults per status (429 `TooManyRequests`, 409 `PessimisticConcurrencyConflict`, …). */
  code?: string;
  /** `Retry-After` header value (seconds or HTTP date). */
  retryAfter?: string;
  /** `retry-after-ms` header value. */
  retryAfterMs?: number;
  /**
   * With `status`: handle the request normally (a write is applied), then answer `status` instead of its result —
   * as the API Management resource provider answers 422 `Timeout` for a write that went through.
   */
  apply?: boolean;
  /** Wait this long first (then handle normally unless `status` or `reset` is set). */
  delayMs?: number;
  /** Destroy the socket: `before` without applying the operation; `after` applying it, then without answering. */
  reset?: 'before' | 'after';
}

/** A running emulator. */
export interface ArmEmulator {
  /** Base URL, e.g. `https://127.0.0.1:45678`. */
  url: string;
  /** PEM of the self-signed certificate; pass it as the client's CA. */
  caCertPem: string;
  /** The bearer token requests must carry. */
  token: string;
  /** Every request in arrival order (empty when `logRequests` is false). */
  requests: RequestLogEntry[];
  injectFault(fault: FaultSpec): void;
  clearFaults(): void;
  /** Clears backends, faults, the request log and refills the throttle buckets. */
  reset(): void;
  /** The stored backend with that ARM id (case-insensitive). */
  getBackend(id: string): BackendRecord | undefined;
  /** Stores a backend directly (no validation), with a fresh ETag. Throws when `id` is not a backend ARM id. */
  putBackend(id: string, properties: Record<string, unknown>): void;
  /** Closes the server and every socket, idle keep-alive ones included. */
  stop(): Promise<void>;
}
