/**
 * What the change service's use cases share: the ports it was handed and its settings, and the per-invocation
 * dependencies built from them (a fresh object per call: the HTTP path shortens its deadline in place).
 */
import type { ArmBackendClient } from './arm-ports';
import type { EngineSettings } from './apply-change';
import type { BreakerPublisher, BreakerSettings, BreakerStore } from './breaker-ports';
import type { Clock } from './clock-ports';
import type { Fingerprinter } from '../domain/fingerprint';
import type { ChangeLedger } from './ledger-ports';
import type { Logger } from './logger-ports';
import type { ProcessDeps } from './process-change';
import type { ResultPublisher } from './publisher-ports';
import type { ChangeQueue } from './queue-ports';
import type { TargetQueue } from './target-queue';
import type { Telemetry } from './telemetry-ports';

/** The adapters the change service works through. */
export interface ChangePorts {
  arm: ArmBackendClient;
  clock: Clock;
  /** Undefined without a storage account: nothing is deduplicated, and there is no status to show. */
  ledger: ChangeLedger | undefined;
  publisher: ResultPublisher;
  queue: ChangeQueue;
  telemetry: Telemetry;
  fingerprints: Fingerprinter;
  /** Changes to one backend run one at a time in this process. */
  targetQueue?: TargetQueue;
  breakerStore: BreakerStore;
  breakerPublisher: BreakerPublisher;
  /**
   * These ports with their spans bound to `telemetry` (the span of the invocation or of the change doing the work),
   * and `telemetry` itself. Set by the composition root when telemetry is on.
   */
  traced?: (telemetry: Telemetry) => ChangePorts;
  /**
   * Only the ports one change's processing uses (ARM client, ledger, publisher), bound to `telemetry` (the change's
   * span): built per change, so nothing else is wrapped or copied. Set with `traced`.
   */
  tracedChange?: ProcessDeps['traced'];
}

/** The change service's settings, from shared/config (the time budget comes from shared/config/time-budget.ts). */
export interface ChangeServiceSettings {
  engine: EngineSettings;
  time: {
    /** How long a ledger claim holds: longer than a change's deadline. */
    leaseMs: number;
    /** The budget of a synchronous HTTP change; still transient then, it is handed to the queue. */
    httpSyncMs: number;
    /** How long an HTTP call waits for the queue to take a message before answering 503. */
    enqueueWaitMs: number;
    /** A queue invocation's time beyond the change deadline (below host.json's functionTimeout). */
    invocationMarginMs: number;
    /** The budget of one ARM read when the sweep decides a stalled change. */
    sweepReadTimeoutMs: number;
  };
  queue: {
    /** A Service Bus connection is configured: transient synchronous changes can be handed to the queue. */
    configured: boolean;
    /** The queue is session-enabled (one session per backend). */
    sessions: boolean;
    maxDeliveryCount: number;
  };
  reconnect: { targets: readonly string[]; after: string | undefined };
  ledger: { retentionMs: number; republishAfterMs: number };
  breaker: BreakerSettings;
}

export interface ServiceContext {
  ports: ChangePorts;
  settings: ChangeServiceSettings;
}

/** The context whose ports trace as children of `telemetry`'s span (as it is when there is none or tracing is off). */
export function tracedContext(ctx: ServiceContext, telemetry: Telemetry | undefined): ServiceContext {
  const { traced } = ctx.ports;
  return telemetry === undefined || traced === undefined ? ctx : { ports: traced(telemetry), settings: ctx.settings };
}

/** The dependencies of one change's processing, fresh per call. */
export function processDepsOf({ ports, settings }: ServiceContext, logger: Logger): ProcessDeps {
  const deps: ProcessDeps = {
    arm: ports.arm,
    clock: ports.clock,
    logger,
    settings: { ...settings.engine },
    ledger: ports.ledger,
    publisher: ports.publisher,
    leaseMs: settings.time.leaseMs,
    fingerprints: ports.fingerprints,
  };
  if (ports.targetQueue !== undefined) deps.targetQueue = ports.targetQueue;
  if (ports.tracedChange !== undefined) deps.traced = ports.tracedChange;
  return deps;
}
