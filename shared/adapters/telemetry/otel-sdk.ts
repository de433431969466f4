/**
 * Entry of the lazily loaded telemetry file of the package (`telemetry.js`, see scripts/build-package.ts): the SDK, the
 * exporters and our adapter. Nothing imports it statically.
 */
import { ConsoleSpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Telemetry } from '../../app/telemetry-ports';
import type { TelemetrySettings } from '../../config/settings';
import { AzureMonitorSpanExporter, azureMonitorCredential, parseConnectionString } from './azure-monitor-exporter';
import { OtlpJsonMetricExporter } from './otlp-metric-exporter';
import { createOtelTelemetry } from './otel-telemetry';

export { createOtelTelemetry };

/** Where traces and metrics go (chosen from the settings by functions/select-telemetry.ts). */
export type ExportPlan =
  | { kind: 'azureMonitor'; connectionString: string; authentication: string | undefined }
  | { kind: 'otlp'; endpoint: string }
  | { kind: 'console' };

/** The OpenTelemetry telemetry for an export plan, sampling and batching spans as the settings say. */
export function telemetryFor(
  plan: ExportPlan,
  { sampler, spanBatchSize }: Partial<Pick<TelemetrySettings, 'sampler' | 'spanBatchSize'>> = {},
): Telemetry {
  switch (plan.kind) {
    case 'console':
      return createOtelTelemetry({ spanExporter: new ConsoleSpanExporter(), exportEachSpan: true, sampler });
    case 'otlp': {
      const base = plan.endpoint.replace(/\/+$/, '');
      return createOtelTelemetry({
        spanExporter: new OTLPTraceExporter({ url: `${base}/v1/traces` }),
        metricExporter: new OtlpJsonMetricExporter(`${base}/v1/metrics`),
        sampler,
        spanBatchSize,
      });
    }
    case 'azureMonitor': {
      const target = parseConnectionString(plan.connectionString);
      return createOtelTelemetry({
        spanExporter: new AzureMonitorSpanExporter(target, azureMonitorCredential(plan.authentication)),
        sampler,
        spanBatchSize,
      });
    }
  }
}
