import { readFileSync } from 'node:fs';
import { createArmBackendClient } from '../shared/adapters/arm/arm-client';
import type { ArmBackendClient } from '../shared/app/arm-ports';
import { createArmCredential } from '../shared/adapters/arm/credential';
import { createWriteLimiter } from '../shared/adapters/arm/write-limiter';
import type { Clock } from '../shared/app/clock-ports';
import { loadConfig, type Config } from '../shared/config/settings';
import { defaultAzureCredential } from '../shared/adapters/identity';
import type { ChangeSpanPorts, ProcessDeps } from '../shared/app/process-change';
import { createChangeService, type ChangeService } from '../shared/app/change-service';
import { processDepsOf, type ChangePorts, type ChangeServiceSettings } from '../shared/app/service-context';
import { timeBudget } from '../shared/config/time-budget';
import { createFingerprinter, type Fingerprinter } from '../shared/domain/fingerprint';
import type { Logger } from '../shared/app/logger-ports';
import { processLogger } from './context-logger';
import { createTableLedger } from '../shared/adapters/ledger/table-ledger';
import type { ChangeLedger } from '../shared/app/ledger-ports';
import { createTargetQueue, type TargetQueue } from '../shared/app/target-queue';
import { ServiceBusResultPublisher } from '../shared/adapters/service-bus/result-publisher';
import { ServiceBusChangeQueue } from '../shared/adapters/service-bus/change-queue';
import type { ChangeQueue } from '../shared/app/queue-ports';
import { LazyServiceBusClient } from '../shared/adapters/service-bus/service-bus-client';
import type { Telemetry } from '../shared/app/telemetry-ports';
import { tracedBreakerPublisher, tracedChangePorts, tracedQueue } from './traced-ports';
import { createTelemetry } from './select-telemetry';
import { createBreakerAdapters, type BreakerAdapters } from './circuit-breaker-adapters';
import { systemClock } from '../shared/adapters/system-clock';
import type { ResultPublisher } from '../shared/app/publisher-ports';

/** Everything the function adapters need, created once per process and reused across invocations. */
export interface AppServices {
  config: Config;
  arm: ArmBackendClient;
  publisher: ResultPublisher;
  queue: ChangeQueue;
  clock: Clock;
  /** The change ledger; undefined when AzureWebJobsStorage is not set (nothing is deduplicated then). */
  ledger: ChangeLedger | undefined;
  /** Traces and metrics; `noTelemetry` unless an exporter is configured. */
  telemetry: Telemetry;
  /** Changes to one backend run one at a time in this process (see target-queue.ts). */
  targetQueue?: TargetQueue;
  /** Fingerprints requests for the ledger (LEDGER_FINGERPRINT_KEY, LEDGER_FINGERPRINT_PREVIOUS_KEYS). */
  fingerprints: Fingerprinter;
  /** Circuit-breaker records (beside the ledger) and their publisher. */
  breaker: BreakerAdapters;
  /** Closes network clients (the local runtime and tests call it; the Azure host just ends the process). */
  close(): Promise<void>;
  /** Every use case, built once from the services above: each trigger makes one call into it. */
  changes: ChangeService;
  /** The ports with their spans bound to `telemetry` (see ChangePorts.traced); set when telemetry is on. */
  traceWith?: (telemetry: Telemetry) => TracedPorts;
  /** The ports one change uses, bound to `telemetry` (see ChangePorts.tracedChange); set with `traceWith`. */
  traceChangeWith?: (telemetry: Telemetry) => ChangeSpanPorts;
}

/** The ports that make spans. */
type TracedPorts = Pick<ChangePorts, 'arm' | 'ledger' | 'publisher' | 'queue' | 'breakerPublisher'>;

/** The services without the change service built on them. */
export type ServiceParts = Omit<AppServices, 'changes'>;

/** The change service's settings taken from the configuration. */
export function changeSettings(config: Config): ChangeServiceSettings {
  const time = timeBudget(config);
  return {
    engine: {
      allowDelete: config.allowDelete,
      deadlineMs: time.changeDeadlineMs,
      skipUnchanged: config.skipUnchanged,
      allowedScopes: config.allowedScopes,
      apiVersion: config.armApiVersion,
    },
    time: {
      leaseMs: time.leaseMs,
      httpSyncMs: time.httpSyncMs,
      enqueueWaitMs: time.enqueueWaitMs,
      invocationMarginMs: time.invocationMarginMs,
      sweepReadTimeoutMs: time.sweepReadTimeoutMs,
    },
    queue: {
      configured:
        config.serviceBus.connectionString !== undefined || config.serviceBus.fullyQualifiedNamespace !== undefined,
      sessions: config.sessions,
      maxDeliveryCount: config.maxDeliveryCount,
    },
    reconnect: { targets: config.reconnectTargets, after: config.reconnectAfter },
    ledger: { retentionMs: config.ledger.retentionMs, republishAfterMs: config.ledger.republishAfterMs },
    breaker: {
      mode: config.circuitBreaker.action,
      maxDrains: config.circuitBreaker.maxDrains,
      windowMs: config.circuitBreaker.windowMs,
      allowedScopes: config.allowedScopes,
      deadlineMs: time.changeDeadlineMs,
      source: config.eventSource,
    },
  };
}

function changePorts(parts: ServiceParts): ChangePorts {
  const ports: ChangePorts = {
    arm: parts.arm,
    clock: parts.clock,
    ledger: parts.ledger,
    publisher: parts.publisher,
    queue: parts.queue,
    telemetry: parts.telemetry,
    fingerprints: parts.fingerprints,
    breakerStore: parts.breaker.store,
    breakerPublisher: parts.breaker.publisher,
  };
  if (parts.targetQueue !== undefined) ports.targetQueue = parts.targetQueue;
  const { traceWith, traceChangeWith } = parts;
  if (traceWith !== undefined) {
    ports.traced = (telemetry) => {
      const bound: ChangePorts = Object.assign({}, ports, traceWith(telemetry));
      bound.telemetry = telemetry;
      return bound;
    };
  }
  if (traceChangeWith !== undefined) ports.tracedChange = traceChangeWith;
  return ports;
}

/** The services with the change service built on them (once; tests and the bench call it on their own parts). */
export function withChangeService(parts: ServiceParts): AppServices {
  return { ...parts, changes: createChangeService(changePorts(parts), changeSettings(parts.config)) };
}

/** The dependencies of one change's processing, as the change service builds them (for tests that drive it). */
export function processDeps(svc: ServiceParts, logger: Logger): ProcessDeps {
  return processDepsOf({ ports: changePorts(svc), settings: changeSettings(svc.config) }, logger);
}

/** Builds the services from a configuration. Nothing connects until first used. */
export function createServices(config: Config, telemetry: Telemetry = createTelemetry(config.telemetry)): AppServices {
  const arm = createArmBackendClient({
    endpoint: config.armEndpoint,
    apiVersion: config.armApiVersion,
    credential: createArmCredential({
      endpoint: config.armEndpoint,
      accessToken: config.armAccessToken,
      clientId: config.azureClientId,
    }),
    perAttemptTimeoutMs: config.attemptTimeoutMs,
    deadlineMs: config.deadlineMs,
    maxAttempts: config.armMaxAttempts,
    // Retry notices of calls that bring no invocation logger (breaker reads, stalled-request checks) reach the logs.
    logger: processLogger,
    ...(config.armCaCertFile === undefined ? {} : { caCertPem: readFileSync(config.armCaCertFile, 'utf8') }),
    // One write limiter per process, shared by every request: writes ride ARM's throttle instead of hitting it.
    ...(config.writeLimiter ? { writeLimiter: createWriteLimiter() } : {}),
  });
  const serviceBus = new LazyServiceBusClient({ ...config.serviceBus, clientId: config.azureClientId });
  const publisher = new ServiceBusResultPublisher(serviceBus, config.resultsTopic, config.eventSource);
  const queue = new ServiceBusChangeQueue(serviceBus, config.changeRequestsQueue);
  const ledger = createLedger(config);
  const breaker = createBreakerAdapters(config, serviceBus);
  // Traced, the ports are wrapped per span that does work (the trigger's, then the change's): a span's parent is
  // passed, not carried with promises (see telemetry-ports.ts). The services' own ports trace as roots.
  const untraced: ChangeSpanPorts = { arm, ledger, publisher };
  const traceChangeWith = (t: Telemetry): ChangeSpanPorts => tracedChangePorts(untraced, t);
  const traceWith = (t: Telemetry): TracedPorts => ({
    ...traceChangeWith(t),
    queue: tracedQueue(queue, t),
    breakerPublisher: tracedBreakerPublisher(breaker.publisher, t),
  });
  const root = telemetry.enabled ? traceWith(telemetry) : undefined;
  return withChangeService({
    config,
    arm: root?.arm ?? arm,
    publisher: root?.publisher ?? publisher,
    queue: root?.queue ?? queue,
    clock: systemClock,
    ledger: root === undefined ? ledger : root.ledger,
    targetQueue: createTargetQueue(),
    fingerprints: createFingerprinter(config.ledger.fingerprintKeys),
    breaker: root === undefined ? breaker : { store: breaker.store, publisher: root.breakerPublisher },
    ...(root === undefined ? {} : { traceWith, traceChangeWith }),
    telemetry,
    close: async () => {
      await telemetry.flush();
      await serviceBus.close();
    },
  });
}

/**
 * The change ledger in the app's storage account: from the AzureWebJobsStorage connection string, or identity-based
 * (AzureWebJobsStorage__tableServiceUri / __accountName, as the Functions host itself accepts). Undefined without either.
 */
function createLedger(config: Config): ChangeLedger | undefined {
  const { connectionString, tableServiceUri, clientId, tableName } = config.ledger;
  if (connectionString !== undefined) return createTableLedger({ connectionString, tableName });
  if (tableServiceUri === undefined) return undefined;
  const credential = defaultAzureCredential(clientId ?? config.azureClientId, 'https://storage.azure.com/.default');
  return createTableLedger({ endpoint: tableServiceUri, credential, tableName });
}

/** A provider of the services: lazily created on first invocation, so a bad setting fails loudly there. */
export type ServicesProvider = () => AppServices;

/** The process-wide services from `process.env`, created on first call. */
export function lazyServices(create: () => AppServices = () => createServices(loadConfig())): ServicesProvider {
  let services: AppServices | undefined;
  return () => (services ??= create());
}
