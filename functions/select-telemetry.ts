/**
 * Chooses the telemetry from the settings: Azure Monitor when APPLICATIONINSIGHTS_CONNECTION_STRING is set, OTLP
 * when OTEL_EXPORTER_OTLP_ENDPOINT is, console spans with OTEL_TRACES_EXPORTER=console, otherwise none — and then
 * the OpenTelemetry SDK is never loaded (it is imported dynamically, a separate file of the deployed package).
 */
import { noTelemetry, type Telemetry } from '../shared/app/telemetry-ports';
import type { TelemetrySettings } from '../shared/config/settings';

import type { ExportPlan } from '../shared/adapters/telemetry/otel-sdk';

/** The exporter the settings ask for, or undefined for telemetry off. Azure Monitor wins over OTLP over console. */
export function exportPlan(settings: TelemetrySettings): ExportPlan | undefined {
  if (settings.appInsightsConnectionString !== undefined) {
    return {
      kind: 'azureMonitor',
      connectionString: settings.appInsightsConnectionString,
      authentication: settings.appInsightsAuthentication,
    };
  }
  if (settings.otlpEndpoint !== undefined) return { kind: 'otlp', endpoint: settings.otlpEndpoint };
  if (settings.tracesExporter?.toLowerCase() === 'console') return { kind: 'console' };
  return undefined;
}

/** The telemetry for the settings; {@link noTelemetry} (nothing loaded) when no exporter is configured. */
export function createTelemetry(
  settings: TelemetrySettings,
  warn: (message: string) => void = console.warn,
): Telemetry {
  const plan = exportPlan(settings);
  if (plan === undefined) return noTelemetry;
  return deferredTelemetry(
    import('../shared/adapters/telemetry/otel-sdk').then((sdk) => sdk.telemetryFor(plan, settings)),
    warn,
  );
}

/**
 * Telemetry whose implementation is still loading. `inSpan` waits for it (every invocation starts with one, so
 * spans and metrics inside see it loaded); until then, or if loading failed, the rest behaves as telemetry off.
 */
export function deferredTelemetry(loading: Promise<Telemetry>, warn: (message: string) => void): Telemetry {
  let impl: Telemetry = noTelemetry;
  const ready = loading.then(
    (loaded) => {
      impl = loaded;
    },
    (error: unknown) => {
      warn(
        `Telemetry is off: the exporter could not be set up (${error instanceof Error ? error.message : 'unknown error'})`,
      );
    },
  );
  return {
    enabled: true,
    inSpan: async (name, options, fn, fulfilled) => {
      await ready;
      return impl.inSpan(name, options, fn, fulfilled);
    },
    startSpan: (name, options) => impl.startSpan(name, options),
    carrier: () => impl.carrier(),
    count: (name, value, attributes) => impl.count(name, value, attributes),
    record: (name, value, attributes) => impl.record(name, value, attributes),
    flush: async () => {
      await ready;
      await impl.flush();
    },
  };
}
