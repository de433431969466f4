/**
 * The ports of the circuit-breaker use case: what it needs from ARM, the change engine, the ledger and the topic.
 * The change service (shared/app/breaker-intake.ts) hands it the adapters the composition root built.
 */
import type { ArmResult, BackendList, CallOptions } from './arm-ports';
import type { BackendScope, BackendTarget } from '../domain/backend-id';
import type { Outcome } from '../domain/contract/outcome';
import type { Clock } from './clock-ports';
import type { Logger } from './logger-ports';
import type { Telemetry } from './telemetry-ports';
import type { DrainSnapshot } from '../domain/breaker-policy';
import type { BreakerEventData, BreakerMode, BreakerRecord, BreakerResultEvent } from '../domain/breaker-record';

/** The ARM reads the use case makes (the change engine makes the writes). */
export interface BreakerArm {
  get(target: BackendTarget, options?: CallOptions): Promise<ArmResult>;
  list(scope: BackendScope, options?: CallOptions): Promise<ArmResult<BackendList>>;
}

/** One pool write: an `update` through the change engine and ledger, conditional on `ifMatch`. */
export interface PoolWrite {
  requestId: string;
  target: BackendTarget;
  ifMatch: string;
  body: { properties: { type: 'Pool'; pool: { services: Array<{ id: string; priority?: number; weight?: number }> } } };
}

/** The engine's answer: the outcome (recorded and published), or "try the whole event again later". */
export type PoolWriteResult = { kind: 'outcome'; outcome: Outcome } | { kind: 'retryLater'; reason: string };

/** How a drain of one member in one pool stands. */
export interface DrainRecord extends DrainSnapshot {
  backendId: string;
  /** The Opened event that drained it. */
  openedBy: string;
  /** The write's requestId and body, kept so a redelivery re-sends the very same request. */
  requestId: string;
  write: PoolWrite;
  /** pending: snapshot stored, write not confirmed; drained: written; failed: the write failed; closed: handled. */
  state: 'pending' | 'drained' | 'failed' | 'closed';
  closedBy?: string;
  closeResult?: 'restored' | 'left' | 'skipped';
}

export type BreakerClaim =
  | { kind: 'claimed'; record: BreakerRecord }
  /** Already processed: a redelivery. Republish when `!record.published`. */
  | { kind: 'done'; record: BreakerRecord }
  /** Another delivery holds it right now. */
  | { kind: 'busy'; record: BreakerRecord };

/** The circuit-breaker part of the ledger: events keyed by their id, and drain snapshots. */
export interface BreakerStore {
  claim(data: BreakerEventData, now: Date, leaseMs: number): Promise<BreakerClaim>;
  get(backendId: string, eventId: string): Promise<BreakerRecord | undefined>;
  complete(record: BreakerRecord, data: BreakerEventData, now: Date): Promise<BreakerRecord>;
  /** Gives the claim up (this delivery failed transiently), so a redelivery can take it at once. */
  release(record: BreakerRecord): Promise<void>;
  markPublished(record: BreakerRecord): Promise<void>;
  /** Every recorded event of a backend. */
  events(backendId: string): Promise<BreakerRecord[]>;
  /** The drain records of one pool (every member). */
  poolDrains(poolId: string): Promise<DrainRecord[]>;
  /** The drain records of one backend (every pool). */
  backendDrains(backendId: string): Promise<DrainRecord[]>;
  putDrain(drain: DrainRecord): Promise<void>;
  /**
   * Deletes processed events and finished drains (closed or failed) last written before `cutoff`; returns how
   * many. Drains still in force are kept whatever their age: Closed needs their snapshot.
   */
  purge(cutoff: Date): Promise<number>;
}

export interface BreakerPublisher {
  publish(event: BreakerResultEvent): Promise<void>;
}

export interface BreakerSettings {
  mode: BreakerMode;
  maxDrains: number;
  windowMs: number;
  allowedScopes: readonly string[];
  /** Budget of one ARM read (list or get), retries included. */
  deadlineMs: number;
  /** The CloudEvents source of our events. */
  source: string;
}

export interface BreakerPorts {
  arm: BreakerArm;
  applyWrite(write: PoolWrite): Promise<PoolWriteResult>;
  store: BreakerStore;
  publisher: BreakerPublisher;
  clock: Clock;
  logger: Logger;
  /** Counts events by type and decision (`breaker.events`); none when telemetry is off. */
  telemetry?: Pick<Telemetry, 'count'>;
}

/** Thrown for what the trigger should retry (Event Grid redelivers; HTTP answers 503). */
export class BreakerRetryError extends Error {
  override readonly name = 'BreakerRetryError';
}
