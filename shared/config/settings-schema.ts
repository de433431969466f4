/**
 * Every setting the app reads, as one zod schema (names are the app settings / environment variables), and how a
 * set of them is parsed: once, failing fast with an error that names each invalid setting.
 */
import * as z from 'zod';
import { DEFAULT_API_VERSION, SUPPORTED_API_VERSIONS } from '../domain/contract/api-versions';
import { isoDurationToMs } from '../domain/breaker-durations';

const bool = (fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((v) => v?.trim().toLowerCase())
    .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']).optional())
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes'].includes(v)));

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .optional()
    .transform((v) => (v === undefined ? fallback : Number(v)))
    .pipe(z.number().int().min(min).max(max));

/** The sampler names of the OpenTelemetry specification this app supports (OTEL_TRACES_SAMPLER). */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

export const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** A key for request fingerprints: a secret with enough entropy that it cannot be guessed itself. */
const fingerprintKey = z
  .string()
  .transform((v) => v.trim())
  .pipe(z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)'));

/** CHANGE_DEADLINE_SECONDS' default: the one default of a change's total budget (the ARM client's too). */
export const DEFAULT_CHANGE_DEADLINE_SECONDS = 200;

/**
 * Every setting the app reads, with its default. Names are the app settings / environment variables.
 * Durations are in seconds (as in host.json) and converted to milliseconds once, here. Exported so the deployment
 * template's test can tell which settings have no default (and so must be set by infra/azuredeploy.json).
 */
export const ConfigSchema = z.object({
  ARM_ENDPOINT: z
    .url({ protocol: /^https$/ })
    .default('https://management.azure.com')
    .transform((v) => v.replace(/\/+$/, '')),
  // The api-version of requests that name none; only versions whose backend schema we validate against.
  ARM_API_VERSION: z
    .string()
    .refine((v) => (SUPPORTED_API_VERSIONS as readonly string[]).includes(v), {
      message: `must be one of ${SUPPORTED_API_VERSIONS.join(', ')}`,
    })
    .default(DEFAULT_API_VERSION),
  ARM_ACCESS_TOKEN: optionalText,
  ARM_CA_CERT_FILE: optionalText,
  AZURE_CLIENT_ID: optionalText,
  ARM_ATTEMPT_TIMEOUT_SECONDS: int(30, 1, 600),
  // Below host.json's functionTimeout (5 min) with room for the ledger, publishing and a busy wait.
  CHANGE_DEADLINE_SECONDS: int(DEFAULT_CHANGE_DEADLINE_SECONDS, 1, 230),
  // Sends of one ARM operation per delivery, on top of the deadline: a failing ARM ends a delivery in seconds.
  ARM_MAX_ATTEMPTS: int(6, 1, 64),
  // Webhook senders time out after seconds (GitHub: 10) and resend; a synchronous call answers within this.
  HTTP_SYNC_SECONDS: int(25, 1, 150),
  ALLOW_DELETE: bool(false),
  SKIP_UNCHANGED: bool(true),
  ARM_WRITE_LIMITER: bool(true),
  MAX_BODY_BYTES: int(256 * 1024, 1024, 100 * 1024 * 1024),
  ServiceBusConnection: optionalText,
  ServiceBusConnection__fullyQualifiedNamespace: optionalText,
  CHANGE_REQUESTS_QUEUE: z.string().min(1).default('backend-change-requests'),
  RESULTS_TOPIC: z.string().min(1).default('backend-change-results'),
  MAX_DELIVERY_COUNT: int(10, 1, 2000),
  CHANGE_REQUESTS_SESSIONS: bool(false),
  EVENT_SOURCE: z.string().min(1).default('/apim-backend-changes'),
  RECONNECT_TARGETS: z.string().default(''),
  RECONNECT_AFTER: optionalText,
  ALLOWED_SCOPES: z.string().default(''),
  AzureWebJobsStorage: optionalText,
  AzureWebJobsStorage__accountName: optionalText,
  AzureWebJobsStorage__tableServiceUri: optionalText,
  AzureWebJobsStorage__clientId: optionalText,
  LEDGER_TABLE: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a valid table name (3-63 letters and digits)')
    .default('backendchanges'),
  LEDGER_RETENTION_DAYS: int(30, 1, 3650),
  LEDGER_REPUBLISH_AFTER_SECONDS: int(60, 0, 86400),
  LEDGER_FINGERPRINT_KEY: fingerprintKey.optional(),
  LEDGER_FINGERPRINT_PREVIOUS_KEYS: z.string().default(''),
  WEBHOOK_SECRETS: z.string().default(''),
  WEBHOOK_TOLERANCE_SECONDS: int(300, 1, 86400),
  // Telemetry (shared/telemetry): Azure Monitor when a connection string is set, OTLP when an endpoint is, else off.
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText,
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: optionalText,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalText,
  OTEL_TRACES_EXPORTER: optionalText,
  // As the OpenTelemetry SDK reads them (the specification's names and default); only read when telemetry is on.
  OTEL_TRACES_SAMPLER: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? 'parentbased_always_on' : v.trim().toLowerCase()))
    .pipe(z.enum(TRACE_SAMPLERS)),
  OTEL_TRACES_SAMPLER_ARG: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? '1' : v.trim()))
    .pipe(z.string().regex(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/, 'must be a number from 0 to 1 (the share of traces kept)'))
    .transform(Number),
  // The SDK's default is 512; 64 here: see README, Observability (spans waiting in the batch cost collection time).
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: int(64, 1, 2048),
  CIRCUIT_BREAKER_ACTION: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? 'notify' : v.trim().toLowerCase()))
    .pipe(z.enum(['notify', 'plan', 'drain'])),
  CIRCUIT_BREAKER_MAX_DRAINS: int(3, 0, 1000),
  CIRCUIT_BREAKER_QUEUE: optionalText,
  CIRCUIT_BREAKER_WINDOW: z
    .string()
    .default('PT1H')
    .transform((v, ctx) => {
      const ms = isoDurationToMs(v);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 duration such as PT1H (no years or months)' });
        return z.NEVER;
      }
      return ms;
    }),
});

/** The names of every setting the app reads through {@link loadConfig}. */
export const SETTING_NAMES: readonly string[] = Object.keys(ConfigSchema.shape);

/** Thrown when a setting is invalid; the message names the setting. The host fails the start, as it should. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly settings: string[],
  ) {
    super(message);
  }
}

/** Type guard for {@link ConfigError}. */
export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof ConfigError;
}

const UNRESOLVED_KEY_VAULT_REFERENCE = /^\s*@Microsoft\.KeyVault\(/i;

/** Parses the settings `schema` names from `env`; throws {@link ConfigError} naming every invalid one. */
export function parseSettings<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const picked: Record<string, string | undefined> = {};
  const unresolved: string[] = [];
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    // An empty app setting means "not set" in Azure; treat it so everywhere.
    picked[key] = value === '' ? undefined : value;
    // App Service leaves a Key Vault reference it cannot resolve as its literal text: never use that as a secret.
    if (value !== undefined && UNRESOLVED_KEY_VAULT_REFERENCE.test(value)) unresolved.push(key);
  }
  if (unresolved.length > 0) {
    const problems = unresolved.map(
      (key) => `${key}: an unresolved Key Vault reference (does the secret exist, and may the app's identity read it?)`,
    );
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`, unresolved);
  }
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    const settings = parsed.error.issues.map((issue) => String(issue.path[0]));
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`, settings);
  }
  return parsed.data;
}

/** Splits a setting holding several values separated by commas or new lines. */
export function list(value: string): string[] {
  return value
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
