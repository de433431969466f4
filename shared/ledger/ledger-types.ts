/**
 * The change ledger: one record per requestId, so that a request delivered more than once (HTTP retries, Service Bus
 * at-least-once redelivery, even concurrent deliveries) is applied by one delivery at a time and never again once an
 * outcome is recorded, its outcome is kept, and callers can ask what happened to it. A delivery that crashes while
 * applying leaves a lease that expires; the next delivery re-applies (`deliveries > 1` tells it to check the current
 * state first), so the lease must outlast the whole change.
 *
 * Lifecycle of a record:
 * ```
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
import type { Outcome } from '../contract/outcome';

export type LedgerState = 'received' | 'applying' | 'succeeded' | 'failed' | 'rejected';

/** The terminal states: the outcome is final and later deliveries get it back instead of applying again. */
export const TERMINAL_STATES: ReadonlySet<LedgerState> = new Set(['succeeded', 'failed', 'rejected']);

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
}

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
   * Records the terminal outcome (state from `outcome.status`; the outcome's attempts are added to the record's),
   * clearing the lease. Throws {@link LedgerConflictError} when the record changed since `record` was read (e.g. the
   * lease expired and another delivery claimed it).
   */
  complete(record: LedgerRecord, outcome: Outcome, extra: { etagBefore?: string; now: Date }): Promise<LedgerRecord>;
  /**
   * Records that this delivery gave up transiently: state `received`, lease cleared, `attempts` added, so a
   * redelivery can claim it at once. Throws {@link LedgerConflictError} like `complete`.
   */
  release(record: LedgerRecord, attempts: number, now: Date): Promise<LedgerRecord>;
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

/** The record changed since the caller read it: another delivery owns it now. */
export class LedgerConflictError extends Error {
  override readonly name = 'LedgerConflictError';
  constructor(
    readonly requestId: string,
    message = `The ledger record of request '${requestId}' was changed by another delivery.`,
  ) {
    super(message);
  }
}
