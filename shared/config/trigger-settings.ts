import { ConfigSchema, optionalText, parseSettings } from './settings-schema';

/**
 * The settings the trigger declarations need, read when the host indexes the functions (before any invocation):
 * parsed with the same rules as {@link loadConfig}, but only these, so an unrelated invalid setting does not stop the
 * functions from being indexed (it fails the first invocation instead, naming the setting).
 */
const TriggerSettingsSchema = ConfigSchema.pick({
  CHANGE_REQUESTS_SESSIONS: true,
  ServiceBusConnection: true,
  ServiceBusConnection__fullyQualifiedNamespace: true,
  CIRCUIT_BREAKER_QUEUE: true,
}).extend({
  // Resolved by the host in the timer's `%RECONNECT_SCHEDULE%`; read here to name the occurrence a run belongs to.
  RECONNECT_SCHEDULE: optionalText,
});

/** What the registration list and the Azure entry point need before any invocation. */
export interface TriggerSettings {
  /** CHANGE_REQUESTS_SESSIONS: the change-request queue trigger is session-enabled. */
  sessions: boolean;
  /** RECONNECT_SCHEDULE (NCRONTAB), when set. */
  reconnectSchedule: string | undefined;
  /** ServiceBusConnection or its __fullyQualifiedNamespace is set. */
  serviceBusConfigured: boolean;
  /** CIRCUIT_BREAKER_QUEUE, when set: the circuit-breaker queue trigger is registered only then. */
  circuitBreakerQueue: string | undefined;
}

/** Parses the {@link TriggerSettings}; throws {@link ConfigError} naming an invalid one. */
export function loadTriggerSettings(env: Record<string, string | undefined> = process.env): TriggerSettings {
  const c = parseSettings(TriggerSettingsSchema, env);
  return {
    sessions: c.CHANGE_REQUESTS_SESSIONS,
    reconnectSchedule: c.RECONNECT_SCHEDULE,
    serviceBusConfigured:
      c.ServiceBusConnection !== undefined || c.ServiceBusConnection__fullyQualifiedNamespace !== undefined,
    circuitBreakerQueue: c.CIRCUIT_BREAKER_QUEUE,
  };
}
