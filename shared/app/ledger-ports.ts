/**
 * The change ledger: one record per requestId, so that a request delivered more than once (HTTP retries, Service Bus
 * at-least-once redelivery, even concurrent deliveries) is applied by one delivery at a time and never again once an
 * outcome is recorded, its outcome is kept, and callers can ask what happened to it. A delivery that crashes while
 * applying leaves a lease that expires; the next delivery re-applies (`deliveries > 1` tells it to check the current
 * state first), so the lease must outlast the whole change.
 *
 * Lifecycle of a record:
 * ```
 *   register (new) ──► received   (accepted for a later delivery; no delivery counted yet)
 *   claim (new) ──► applying ──complete──► succeeded | failed | rejected   (terminal: later claims answer 'done')
 *                      │  ▲
 *              release │  │ claim (lease cleared or expired: the previous delivery gave up or crashed)
 *                      ▼  │
 *                    received
 * ```
 * `received` means: known, not being applied right now, waiting for a (re)delivery to claim it.
 * Dry runs must not go through the ledger: the fingerprint ignores `dryRun`, so a recorded dry run would answer for
 * the real request with the same requestId.
 */
import type { SetOutcome } from '../domain/contract/change-set';
import type { Outcome } from '../domain/contract/outcome';
import type { LedgerState } from '../domain/ledger-state';

/** Where a request came from: decides who finalises a record whose delivery stopped (see `ledgerCleanup`). */
export type LedgerOrigin = 'http' | 'queue';

/**
 * What a delivery recorded before its first write (see `shared/app/write-intent.ts`): the ETag its write is
 * conditional on (`null`: the backend did not exist), and a hash of the state the backend has once it is applied.
 * A later delivery of the same request writes conditional on this ETag, never on a fresh one.
 */
export interface WriteIntent {
  etag: string | null;
  stateHash: string;
}

/** What the ledger knows about one request. Never holds a request body or a secret. */
export interface LedgerRecord {
  requestId: string;
  /** Hash of the normalised request ({@link fingerprintRequest}); internal, do not show it to callers. */
  fingerprint: string;
  state: LedgerState;
  operation?: string;
  /** The backend's ARM id. */
  target?: string;
  /** The terminal outcome, secrets redacted; present once the state is terminal. */
  outcome?: Outcome;
  /** A change set's record (operation `changeSet`): its terminal outcome instead of `outcome`. */
  setOutcome?: SetOutcome;
  /** The backend's ETag before the change, when the caller knew it. */
  etagBefore?: string;
  /** The ETag ARM returned with the outcome. */
  etagAfter?: string;
  /** ARM operation attempts, summed over deliveries. */
  attempts: number;
  /** How many times the request was claimed (a value above 1 means an earlier delivery gave up or crashed). */
  deliveries: number;
  /** Whether the result event was published. */
  published: boolean;
  /** ISO 8601 times. */
  createdAt: string;
  updatedAt: string;
  /** While `applying`: until when the claiming delivery holds the record. */
  leaseUntil?: string;
  /** Where the request came from; absent on records written before it was kept. */
  origin?: LedgerOrigin;
  /** Recorded before the first write to ARM; kept across deliveries. */
  intent?: WriteIntent;
  /**
   * A `failed` record whose failure was transient (an HTTP caller got it as the answer): the outcome is shown and
   * was published, but a retry of the same requestId may claim it and apply it again.
   */
  retryable?: boolean;
  /** The stored entity's version (ETag) for optimistic concurrency; opaque to callers. */
  version: string;
}

export interface ClaimInput {
  requestId: string;
  /** Stored in a new record. */
  fingerprint: string;
  /**
   * Whether a record's different fingerprint is still this request's (made under a previous fingerprint key, or by
   * the legacy scheme before an upgrade; see `RequestFingerprint.matches`). Without it, only equal ones are.
   */
  sameRequest?: (stored: string) => boolean;
  operation?: string;
  target?: string;
  /** How long the claim holds; make it longer than the whole change may take (deadline plus margin). */
  leaseMs: number;
  now: Date;
  origin?: LedgerOrigin;
}

/** A request accepted for later processing (queued, answered 202): recorded before any delivery claims it. */
export type RegisterInput = Omit<ClaimInput, 'leaseMs'>;

/** The answer to a registration. All four are expected; storage failures are thrown. */
export type RegisterResult =
  /** Recorded as `received` (new, or an idle record: released, or its delivery stopped): a delivery will claim it. */
  | { kind: 'registered'; record: LedgerRecord }
  /** A terminal outcome is recorded already (a delivery finished it): nothing to register. */
  | { kind: 'done'; record: LedgerRecord }
  /** Same requestId, different request: nothing is changed. */
  | { kind: 'conflict'; record: LedgerRecord }
  /** A delivery is applying it right now: nothing to register. */
  | { kind: 'busy'; record: LedgerRecord };

/** The answer to a claim. All four are expected; storage failures are thrown. */
export type ClaimResult =
  /** Apply the change now: the request is new, or an earlier delivery released it or crashed (lease expired). */
  | { kind: 'claimed'; record: LedgerRecord }
  /** A terminal outcome is recorded: return `record.outcome`, and publish it again if `!record.published`. */
  | { kind: 'done'; record: LedgerRecord }
  /** Same requestId, different request: refuse with RequestIdConflict (409); nothing is changed. */
  | { kind: 'conflict'; record: LedgerRecord }
  /** Another delivery holds a live lease and is applying it now: retry later (redelivery, or 409/503 over HTTP). */
  | { kind: 'busy'; record: LedgerRecord };

/** The change ledger. Every write is optimistic on `record.version`. */
export interface ChangeLedger {
  /** Claims the request for this delivery, race-safe: of concurrent claims exactly one gets `claimed`. */
  claim(input: ClaimInput): Promise<ClaimResult>;
  /**
   * Registers a request accepted for a later delivery (`Prefer: respond-async`): a `received` record with no
   * delivery counted, so its status is known at once and the stalled-record sweep leaves it to the queue.
   */
  register(input: RegisterInput): Promise<RegisterResult>;
  /**
   * Records the terminal outcome (state from `outcome.status`; the outcome's attempts are added to the record's),
   * clearing the lease. Throws {@link LedgerConflictError} when the record changed since `record` was read (e.g. the
   * lease expired and another delivery claimed it).
   */
  complete(
    record: LedgerRecord,
    outcome: Outcome | SetOutcome,
    extra: { etagBefore?: string; now: Date; retryable?: boolean; clearIntent?: boolean },
  ): Promise<LedgerRecord>;
  /**
   * Records the write intent of the delivery holding `record` (state `applying`) before its first write. Throws
   * {@link LedgerConflictError} when the record changed (the lease was lost): the caller must then not write.
   */
  recordIntent(record: LedgerRecord, intent: WriteIntent, now: Date): Promise<LedgerRecord>;
  /**
   * Finalises a record whose delivery stopped (a `received` record, or an `applying` one whose lease ran out) with
   * `outcome`, as `ledgerCleanup` and the dead-letter function do. Throws {@link LedgerConflictError} when the record
   * changed since it was read (a delivery claimed it meanwhile).
   */
  close(record: LedgerRecord, outcome: Outcome, now: Date): Promise<LedgerRecord>;
  /** `applying` records of `origin` whose lease ended before `now`, at most `limit`. */
  stalled(origin: LedgerOrigin, now: Date, limit: number): Promise<LedgerRecord[]>;
  /**
   * Records that this delivery gave up transiently: state `received`, lease cleared, `attempts` added, so a
   * redelivery can claim it at once. Throws {@link LedgerConflictError} like `complete`.
   */
  release(
    record: LedgerRecord,
    attempts: number,
    now: Date,
    options?: { clearIntent?: boolean },
  ): Promise<LedgerRecord>;
  /**
   * Records that the result event of a terminal record was published. Idempotent; retries on concurrent changes
   * that leave the record terminal. Throws {@link LedgerConflictError} when the record is not (or no longer) terminal.
   */
  markPublished(record: LedgerRecord, now: Date): Promise<LedgerRecord>;
  /**
   * Terminal records whose result event was not published (the publish failed after the outcome was recorded),
   * last updated before `olderThan`, at most `limit`: the repair sweep re-publishes them.
   */
  unpublished(olderThan: Date, limit: number): Promise<LedgerRecord[]>;
  /** The record of a requestId, or undefined. */
  get(requestId: string): Promise<LedgerRecord | undefined>;
  /**
   * Deletes records last updated before `cutoff` (whatever their state); returns how many. A record updated while
   * the purge runs is kept. Choose a cutoff older than any redelivery can be (queue TTL, lock renewal).
   */
  purge(cutoff: Date): Promise<number>;
}
