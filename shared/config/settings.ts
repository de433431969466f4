/**
 * The app's configuration: every setting parsed once (shared/config/settings-schema.ts) into the typed
 * {@link Config} the composition root hands down. Durations are in seconds (as in host.json) and converted to
 * milliseconds once, here.
 */
import { isoDuration } from '../domain/contract/backend-body';
import { ConfigError, ConfigSchema, list, parseSettings, type TRACE_SAMPLERS } from './settings-schema';

// The ARM client (shared/adapters/arm) takes its default deadline from here.
export { DEFAULT_CHANGE_DEADLINE_SECONDS } from './settings-schema';

/** The parsed, typed configuration. */
export interface Config {
  armEndpoint: string;
  armApiVersion: string;
  armAccessToken: string | undefined;
  armCaCertFile: string | undefined;
  azureClientId: string | undefined;
  attemptTimeoutMs: number;
  deadlineMs: number;
  /** Sends of one ARM operation at most per delivery (ARM_MAX_ATTEMPTS). */
  armMaxAttempts: number;
  /** The budget of a synchronous HTTP change; still transient then, it is handed to the queue (HTTP_SYNC_SECONDS). */
  httpSyncMs: number;
  allowDelete: boolean;
  skipUnchanged: boolean;
  writeLimiter: boolean;
  maxBodyBytes: number;
  serviceBus: { connectionString: string | undefined; fullyQualifiedNamespace: string | undefined };
  changeRequestsQueue: string;
  resultsTopic: string;
  maxDeliveryCount: number;
  /** The change-request queue is session-enabled: one session per backend (see backendSessionId). */
  sessions: boolean;
  eventSource: string;
  reconnectTargets: string[];
  reconnectAfter: string | undefined;
  allowedScopes: string[];
  ledger: {
    connectionString: string | undefined;
    /** The Table endpoint for an identity-based connection (AzureWebJobsStorage__tableServiceUri / __accountName). */
    tableServiceUri: string | undefined;
    /** The user-assigned identity for the storage connection (AzureWebJobsStorage__clientId). */
    clientId: string | undefined;
    tableName: string;
    retentionMs: number;
    republishAfterMs: number;
    /** Keys of the request fingerprints; no current key means the slow legacy scheme (see fingerprint.ts). */
    fingerprintKeys: { current: string | undefined; previous: string[] };
  };
  webhookSecrets: string[];
  webhookToleranceMs: number;
  /** Circuit-breaker automation: what to do on API Management's breaker events, and its drain limit. */
  circuitBreaker: {
    action: 'notify' | 'plan' | 'drain';
    maxDrains: number;
    windowMs: number;
    /** A Service Bus queue an Event Grid subscription delivers breaker events to (optional third intake). */
    queue: string | undefined;
  };
  telemetry: TelemetrySettings;
}

/** Where traces and metrics go; all unset means telemetry is off and none of the OpenTelemetry SDK is loaded. */
export interface TelemetrySettings {
  appInsightsConnectionString: string | undefined;
  /** `Authorization=AAD;ClientId=<id>`: ingestion with an Entra token of that identity (local auth off). */
  appInsightsAuthentication: string | undefined;
  otlpEndpoint: string | undefined;
  /** `console` prints spans to stdout (local runs). */
  tracesExporter: string | undefined;
  /** Which traces are recorded and exported (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG). */
  sampler: TraceSamplerSettings;
  /** Spans exported in one batch at most (OTEL_BSP_MAX_EXPORT_BATCH_SIZE); a full batch is exported at once. */
  spanBatchSize: number;
}

/** An OpenTelemetry sampler by its specification name, and the ratio of the ratio samplers. */
export interface TraceSamplerSettings {
  name: (typeof TRACE_SAMPLERS)[number];
  /** The share of traces kept, 0 to 1 (used by `traceidratio` and `parentbased_traceidratio`). */
  ratio: number;
}

/**
 * Parses the configuration from the environment (or any string map). Throws {@link ConfigError} naming every
 * invalid setting. Call once at start-up and pass the result down.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const c = parseSettings(ConfigSchema, env);
  if (c.RECONNECT_AFTER !== undefined && !isoDuration.safeParse(c.RECONNECT_AFTER).success) {
    throw new ConfigError('Invalid configuration: RECONNECT_AFTER: must be an ISO 8601 duration such as PT2M', [
      'RECONNECT_AFTER',
    ]);
  }
  return {
    armEndpoint: c.ARM_ENDPOINT,
    armApiVersion: c.ARM_API_VERSION,
    armAccessToken: c.ARM_ACCESS_TOKEN,
    armCaCertFile: c.ARM_CA_CERT_FILE,
    azureClientId: c.AZURE_CLIENT_ID,
    attemptTimeoutMs: c.ARM_ATTEMPT_TIMEOUT_SECONDS * 1000,
    deadlineMs: c.CHANGE_DEADLINE_SECONDS * 1000,
    armMaxAttempts: c.ARM_MAX_ATTEMPTS,
    httpSyncMs: c.HTTP_SYNC_SECONDS * 1000,
    allowDelete: c.ALLOW_DELETE,
    skipUnchanged: c.SKIP_UNCHANGED,
    writeLimiter: c.ARM_WRITE_LIMITER,
    maxBodyBytes: c.MAX_BODY_BYTES,
    serviceBus: {
      connectionString: c.ServiceBusConnection,
      fullyQualifiedNamespace: c.ServiceBusConnection__fullyQualifiedNamespace,
    },
    changeRequestsQueue: c.CHANGE_REQUESTS_QUEUE,
    resultsTopic: c.RESULTS_TOPIC,
    maxDeliveryCount: c.MAX_DELIVERY_COUNT,
    sessions: c.CHANGE_REQUESTS_SESSIONS,
    eventSource: c.EVENT_SOURCE,
    reconnectTargets: list(c.RECONNECT_TARGETS),
    reconnectAfter: c.RECONNECT_AFTER,
    allowedScopes: list(c.ALLOWED_SCOPES),
    ledger: {
      connectionString: c.AzureWebJobsStorage,
      tableServiceUri:
        c.AzureWebJobsStorage__tableServiceUri ??
        (c.AzureWebJobsStorage__accountName === undefined
          ? undefined
          : `https://${c.AzureWebJobsStorage__accountName}.table.core.windows.net`),
      clientId: c.AzureWebJobsStorage__clientId,
      tableName: c.LEDGER_TABLE,
      retentionMs: c.LEDGER_RETENTION_DAYS * 86_400_000,
      republishAfterMs: c.LEDGER_REPUBLISH_AFTER_SECONDS * 1000,
      fingerprintKeys: { current: c.LEDGER_FINGERPRINT_KEY, previous: list(c.LEDGER_FINGERPRINT_PREVIOUS_KEYS) },
    },
    webhookSecrets: list(c.WEBHOOK_SECRETS),
    webhookToleranceMs: c.WEBHOOK_TOLERANCE_SECONDS * 1000,
    telemetry: {
      appInsightsConnectionString: c.APPLICATIONINSIGHTS_CONNECTION_STRING,
      appInsightsAuthentication: c.APPLICATIONINSIGHTS_AUTHENTICATION_STRING,
      otlpEndpoint: c.OTEL_EXPORTER_OTLP_ENDPOINT,
      tracesExporter: c.OTEL_TRACES_EXPORTER,
      sampler: { name: c.OTEL_TRACES_SAMPLER, ratio: c.OTEL_TRACES_SAMPLER_ARG },
      spanBatchSize: c.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    },
    circuitBreaker: {
      action: c.CIRCUIT_BREAKER_ACTION,
      maxDrains: c.CIRCUIT_BREAKER_MAX_DRAINS,
      windowMs: c.CIRCUIT_BREAKER_WINDOW,
      queue: c.CIRCUIT_BREAKER_QUEUE,
    },
  };
}
